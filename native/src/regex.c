/* POSIX extended regexes, one dialect for every use: progress lines (progress_regex), success criteria on captured
 * output (scythe_regex_search) and the host's up-front check (scythe_regex_check). REG_NEWLINE makes ^ and $ match at
 * line boundaries and keeps . and bracket expressions off newlines, so a pattern means the same whether it is matched
 * against one line (the progress probe) or a whole stream (a success criterion). */
#include "internal.h"

#include <errno.h>
#include <regex.h>

int scythe__regex_compile(regex_t *re, const char *regex) {
    if (!regex)
        return -EINVAL;
    int rc = regcomp(re, regex, REG_EXTENDED | REG_NEWLINE | REG_NOSUB);
    return rc == 0 ? 0 : rc == REG_ESPACE ? -ENOMEM : -EINVAL;
}

int scythe_regex_check(const char *regex) {
    regex_t re;
    int rc = scythe__regex_compile(&re, regex);
    if (rc == 0)
        regfree(&re);
    return rc;
}

int scythe_regex_search(int *matched, const char *regex, const uint8_t *text, size_t len) {
    if (!matched || (!text && len))
        return -EINVAL;
    if ((regoff_t)len < 0 || (size_t)(regoff_t)len != len)
        return -EOVERFLOW; /* glibc's regoff_t is an int: 2 GiB and more cannot be bounded */
    regex_t re;
    int rc = scythe__regex_compile(&re, regex);
    if (rc)
        return rc;
    /* REG_STARTEND: the bounds come from pmatch[0], not from a terminating NUL, so NUL bytes in prover output are
     * ordinary characters and the text needs no copy. glibc reads the bounds even under REG_NOSUB. */
    regmatch_t bounds = {.rm_so = 0, .rm_eo = (regoff_t)len};
    static const char empty[1] = "";
    int found = regexec(&re, text ? (const char *)text : empty, 1, &bounds, REG_STARTEND);
    regfree(&re);
    if (found == 0) {
        *matched = 1;
        return 0;
    }
    if (found == REG_NOMATCH) {
        *matched = 0;
        return 0;
    }
    return found == REG_ESPACE ? -ENOMEM : -EINVAL;
}
