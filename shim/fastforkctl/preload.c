/* SPDX-License-Identifier: MIT */
/*
 * ld.so.preload contents, in memory.  ld.so reads the file as entries
 * separated by blanks, tabs, newlines or ':', with '#' starting a comment
 * that runs to the end of the line; this file reads it the same way.
 */
#include "ctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEPS " \t:\r"

bool preload_is_fastfork(const char *entry)
{
	const char *slash = strrchr(entry, '/');
	const char *base = slash ? slash + 1 : entry;

	return strcmp(base, FF_LIB_NAME) == 0;
}

/* Calls fn for every entry of the line [p, end) before any '#'. */
static void for_each_entry(const char *p, const char *end,
			   void (*fn)(const char *entry, void *arg), void *arg)
{
	const char *hash = memchr(p, '#', (size_t)(end - p));
	char tok[4096];

	if (hash)
		end = hash;
	while (p < end) {
		size_t n;

		p += strspn(p, SEPS);
		if (p >= end)
			break;
		n = strcspn(p, SEPS "#\n");
		if (p + n > end)
			n = (size_t)(end - p);
		if (n >= sizeof(tok))
			n = sizeof(tok) - 1;
		memcpy(tok, p, n);
		tok[n] = '\0';
		fn(tok, arg);
		p += n;
	}
}

struct lists_ctx {
	const char *entry;
	bool found;
	char *other;
	size_t n;
};

static void lists_one(const char *tok, void *arg)
{
	struct lists_ctx *c = arg;

	if (strcmp(tok, c->entry) == 0)
		c->found = true;
	else if (preload_is_fastfork(tok) && c->other && !c->other[0])
		snprintf(c->other, c->n, "%s", tok);
}

bool preload_lists(const char *text, const char *entry, char *other, size_t n)
{
	struct lists_ctx c = {entry, false, other, n};
	const char *p = text;

	if (other && n)
		other[0] = '\0';
	while (*p) {
		const char *nl = strchr(p, '\n');
		const char *end = nl ? nl : p + strlen(p);

		for_each_entry(p, end, lists_one, &c);
		p = nl ? nl + 1 : end;
	}
	return c.found;
}

struct count_ctx {
	int fastfork, others;
};

static void count_one(const char *tok, void *arg)
{
	struct count_ctx *c = arg;

	if (preload_is_fastfork(tok))
		c->fastfork++;
	else
		c->others++;
}

struct keep_ctx {
	char *out;
	size_t *o;
	bool any;
};

static void keep_one(const char *tok, void *arg)
{
	struct keep_ctx *k = arg;
	size_t n = strlen(tok);

	if (preload_is_fastfork(tok))
		return;
	if (k->any)
		k->out[(*k->o)++] = ' ';
	memcpy(k->out + *k->o, tok, n);
	*k->o += n;
	k->any = true;
}

char *preload_remove(const char *text, int *removed)
{
	size_t len = strlen(text), o = 0;
	char *out = malloc(len + 1);
	const char *p = text;

	*removed = 0;
	if (!out)
		return NULL;
	while (*p) {
		const char *nl = strchr(p, '\n');
		const char *end = nl ? nl + 1 : p + strlen(p);
		const char *code_end = nl ? nl : end;
		struct count_ctx c = {0, 0};
		const char *hash;

		for_each_entry(p, code_end, count_one, &c);
		if (!c.fastfork) { /* untouched, byte for byte */
			memcpy(out + o, p, (size_t)(end - p));
			o += (size_t)(end - p);
			p = end;
			continue;
		}
		*removed += c.fastfork;
		hash = memchr(p, '#', (size_t)(code_end - p));
		if (c.others) {
			struct keep_ctx k = {out, &o, false};

			for_each_entry(p, code_end, keep_one, &k);
			if (hash)
				out[o++] = ' ';
		}
		if (hash) {
			memcpy(out + o, hash, (size_t)(code_end - hash));
			o += (size_t)(code_end - hash);
		}
		if ((c.others || hash) && nl)
			out[o++] = '\n';
		p = end;
	}
	out[o] = '\0';
	return out;
}

char *preload_append(const char *text, const char *entry)
{
	size_t len = strlen(text), n = strlen(entry);
	char *out = malloc(len + n + 3);
	size_t o = len;

	if (!out)
		return NULL;
	memcpy(out, text, len);
	if (len && text[len - 1] != '\n')
		out[o++] = '\n';
	memcpy(out + o, entry, n);
	o += n;
	out[o++] = '\n';
	out[o] = '\0';
	return out;
}

const char *preload_unparseable(const char *text, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)text[i];

		if (ch == '\0')
			return "it contains NUL bytes (binary data)";
		if (ch < 0x20 && ch != '\n' && ch != '\t' && ch != '\r')
			return "it contains control characters (binary data)";
	}
	return NULL;
}
