/* Functions kumo never calls: unbounded copies, non-reentrant time, racy
 * temp names. Including this after the system headers turns any use into a
 * compile error. */
#ifndef KUMO_BANNED_H
#define KUMO_BANNED_H
#define KUMO_BANNED(f) sorry_##f##_is_banned_in_kumo
#undef strcpy
#define strcpy(...) KUMO_BANNED(strcpy)
#undef strcat
#define strcat(...) KUMO_BANNED(strcat)
#undef strncpy
#define strncpy(...) KUMO_BANNED(strncpy)
#undef strncat
#define strncat(...) KUMO_BANNED(strncat)
#undef sprintf
#define sprintf(...) KUMO_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) KUMO_BANNED(vsprintf)
#undef strtok
#define strtok(...) KUMO_BANNED(strtok)
#undef gmtime
#define gmtime(...) KUMO_BANNED(gmtime)
#undef localtime
#define localtime(...) KUMO_BANNED(localtime)
#undef mktemp
#define mktemp(...) KUMO_BANNED(mktemp)
/* Its text comes from jansson's allocator, which kumo swaps for its own;
 * proto_json_dumps gives malloc'd text. */
#undef json_dumps
#define json_dumps(...) KUMO_BANNED(json_dumps)
#endif
