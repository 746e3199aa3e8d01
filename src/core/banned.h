/* Functions kyoka never calls: unbounded copies, non-reentrant time, racy
 * temp names. Including this after the system headers turns any use into a
 * compile error. */
#ifndef KYOKA_BANNED_H
#define KYOKA_BANNED_H
#define KYOKA_BANNED(f) sorry_##f##_is_banned_in_kyoka
#undef strcpy
#define strcpy(...) KYOKA_BANNED(strcpy)
#undef strcat
#define strcat(...) KYOKA_BANNED(strcat)
#undef strncpy
#define strncpy(...) KYOKA_BANNED(strncpy)
#undef strncat
#define strncat(...) KYOKA_BANNED(strncat)
#undef sprintf
#define sprintf(...) KYOKA_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) KYOKA_BANNED(vsprintf)
#undef strtok
#define strtok(...) KYOKA_BANNED(strtok)
#undef gmtime
#define gmtime(...) KYOKA_BANNED(gmtime)
#undef localtime
#define localtime(...) KYOKA_BANNED(localtime)
#undef mktemp
#define mktemp(...) KYOKA_BANNED(mktemp)
/* Its text comes from jansson's allocator, which kyoka swaps for its own;
 * proto_json_dumps gives malloc'd text. */
#undef json_dumps
#define json_dumps(...) KYOKA_BANNED(json_dumps)
#endif
