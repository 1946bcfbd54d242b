#!/usr/bin/perl
# Small MaxMind-format databases for tests, so nothing is downloaded.
#   mkmmdb.pl country OUT.mmdb CIDR=CC ...     (GeoLite2-Country layout)
#   mkmmdb.pl asn     OUT.mmdb CIDR=ASN ...    (GeoLite2-ASN layout)
# Uses Debian's libmaxmind-db-writer-perl.
use strict;
use warnings;
use MaxMind::DB::Writer::Tree;

my ($kind, $out, @maps) = @ARGV;
die "usage: $0 country|asn OUT.mmdb CIDR=VALUE...\n"
    unless defined $out && ($kind eq 'country' || $kind eq 'asn');

my %types = $kind eq 'country'
    ? (country => 'map', iso_code => 'utf8_string')
    : (autonomous_system_number => 'uint32',
       autonomous_system_organization => 'utf8_string');
my $tree = MaxMind::DB::Writer::Tree->new(
    ip_version => 6,
    record_size => 24,
    database_type => $kind eq 'country' ? 'GeoLite2-Country' : 'GeoLite2-ASN',
    languages => ['en'],
    description => { en => "mpsocks test $kind database" },
    map_key_type_callback => sub { $types{ $_[0] } },
    # IPv4 lives at ::a.b.c.d and at ::ffff:a.b.c.d, as in MaxMind's files
    alias_ipv6_to_ipv4 => 1,
    remove_reserved_networks => 0,
);
for my $m (@maps) {
    my ($net, $val) = split /=/, $m, 2;
    die "bad mapping $m\n" unless defined $val;
    $tree->insert_network($net, $kind eq 'country'
        ? { country => { iso_code => $val } }
        : { autonomous_system_number => $val + 0,
            autonomous_system_organization => "AS$val test" });
}
open my $fh, '>:raw', $out or die "$out: $!\n";
$tree->write_tree($fh);
close $fh or die "$out: $!\n";
