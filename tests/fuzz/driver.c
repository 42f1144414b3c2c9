/* Replay driver for libFuzzer targets in builds without libFuzzer.
 *
 * Usage: fuzz_NAME [--iterations N] [--seed S] [CORPUS_DIR_OR_FILE...]
 * Runs every corpus file once, then N inputs made by mutating corpus files (or
 * random bytes when there is no corpus) with a seeded PRNG. Deterministic for a
 * given seed, bounded in count, so it can run as an ordinary test. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DRIVER_INPUT_BYTES_MAX  (64u * 1024u)
#define DRIVER_CORPUS_FILES_MAX 4096u

struct corpus {
	uint8_t *data[DRIVER_CORPUS_FILES_MAX];
	size_t size[DRIVER_CORPUS_FILES_MAX];
	size_t count;
};

static uint64_t rng_next(uint64_t *s)
{
	/* splitmix64 */
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void corpus_add_file(struct corpus *c, const char *path)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL || c->count == DRIVER_CORPUS_FILES_MAX) {
		if (f != NULL) {
			fclose(f);
		}
		return;
	}
	uint8_t *buf = malloc(DRIVER_INPUT_BYTES_MAX);
	size_t n = buf != NULL ? fread(buf, 1, DRIVER_INPUT_BYTES_MAX, f) : 0;
	fclose(f);
	if (buf == NULL) {
		return;
	}
	c->data[c->count] = buf;
	c->size[c->count] = n;
	c->count++;
}

static void corpus_add(struct corpus *c, const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		corpus_add_file(c, path);
		return;
	}
	DIR *d = opendir(path);
	if (d == NULL) {
		return;
	}
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.') {
			continue;
		}
		char full[4096];
		snprintf(full, sizeof full, "%s/%s", path, e->d_name);
		corpus_add_file(c, full);
	}
	closedir(d);
}

static size_t mutate(uint8_t *buf, size_t len, uint64_t *rng)
{
	unsigned edits = 1u + (unsigned)(rng_next(rng) % 8u);
	for (unsigned i = 0; i < edits; i++) {
		uint64_t r = rng_next(rng);
		size_t pos = len > 0 ? (size_t)(r >> 8) % len : 0;
		switch (r % 5u) {
		case 0: /* flip a bit */
			if (len > 0) {
				buf[pos] ^= (uint8_t)(1u << ((r >> 3) % 8u));
			}
			break;
		case 1: /* set a byte */
			if (len > 0) {
				buf[pos] = (uint8_t)(r >> 40);
			}
			break;
		case 2: /* truncate */
			len = pos;
			break;
		case 3: /* insert a byte */
			if (len < DRIVER_INPUT_BYTES_MAX) {
				memmove(buf + pos + 1, buf + pos, len - pos);
				buf[pos] = (uint8_t)(r >> 48);
				len++;
			}
			break;
		default: /* duplicate a chunk */
			if (len > 0 && len * 2 <= DRIVER_INPUT_BYTES_MAX) {
				size_t n = 1 + (size_t)(r >> 20) % len;
				if (pos + n > len) {
					n = len - pos;
				}
				memmove(buf + pos + n, buf + pos, len - pos);
				len += n;
			}
			break;
		}
	}
	return len;
}

int main(int argc, char **argv)
{
	static struct corpus c;
	unsigned long iterations = 10000;
	uint64_t rng = 1;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--iterations") == 0 && i + 1 < argc) {
			iterations = strtoul(argv[++i], NULL, 10);
		} else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
			rng = strtoull(argv[++i], NULL, 10);
		} else {
			corpus_add(&c, argv[i]);
		}
	}
	for (size_t i = 0; i < c.count; i++) {
		LLVMFuzzerTestOneInput(c.data[i], c.size[i]);
	}
	uint8_t *buf = malloc(DRIVER_INPUT_BYTES_MAX);
	if (buf == NULL) {
		return 1;
	}
	for (unsigned long it = 0; it < iterations; it++) {
		size_t len;
		if (c.count > 0) {
			size_t k = (size_t)(rng_next(&rng) % c.count);
			memcpy(buf, c.data[k], c.size[k]);
			len = mutate(buf, c.size[k], &rng);
		} else {
			len = (size_t)(rng_next(&rng) % 512u);
			for (size_t j = 0; j < len; j++) {
				buf[j] = (uint8_t)rng_next(&rng);
			}
		}
		LLVMFuzzerTestOneInput(buf, len);
	}
	printf("fuzz driver: %zu corpus inputs, %lu generated inputs, no crash\n", c.count,
	       iterations);
	free(buf);
	for (size_t i = 0; i < c.count; i++) {
		free(c.data[i]);
	}
	return 0;
}
