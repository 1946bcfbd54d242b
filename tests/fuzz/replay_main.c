/*
 * A main() for the fuzz targets under gcc and the sanitizers, without
 * libFuzzer: runs LLVMFuzzerTestOneInput() once on every file named on
 * the command line, or in a directory named there (and its immediate
 * subdirectories). Each input sits in a buffer of exactly its size, so
 * ASan catches a read one byte past it. Exits 1 if nothing ran.
 */

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int	ran, failed;

static void
run_file(const char *path)
{
	FILE	*f;
	uint8_t	*buf = NULL;
	long	 n;

	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		failed++;
		return;
	}
	if (fseek(f, 0, SEEK_END) == -1 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) == -1)
		goto fail;
	/* malloc(0) still gives a pointer ASan can fence */
	if ((buf = malloc((size_t)n)) == NULL && n > 0)
		goto fail;
	if (n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n)
		goto fail;
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t)n);
	free(buf);
	ran++;
	return;
fail:
	fprintf(stderr, "%s: cannot read\n", path);
	free(buf);
	fclose(f);
	failed++;
}

static void
run_path(const char *path, int depth)
{
	struct stat	 st;
	DIR		*d;
	struct dirent	*de;
	char		 sub[PATH_MAX];

	if (stat(path, &st) == -1) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		failed++;
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		run_file(path);
		return;
	}
	if (depth > 1)
		return;
	if ((d = opendir(path)) == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		failed++;
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", path,
		    de->d_name) >= sizeof(sub))
			continue;
		run_path(sub, depth + 1);
	}
	closedir(d);
}

int
main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		run_path(argv[i], 0);
	printf("%s: ran %d inputs\n", argv[0], ran);
	if (failed > 0)
		fprintf(stderr, "%s: %d inputs could not be read\n", argv[0],
		    failed);
	return ran > 0 && failed == 0 ? 0 : 1;
}
