/* Unit tests for src/util/json.c: the fast serialiser writes exactly what
 * jansson's compact dump writes, and the unknown-key rule names the path. */
#include <stdlib.h>

#include "unit.h"
#include "util/json.h"

static void same_as_jansson(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
    if (!v) {
        unit_fail(__FILE__, __LINE__, "bad test JSON %s: %s", text, e.text);
        return;
    }
    char *want = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    char *got = hookd_json_dumps(v);
    if (!got || strcmp(want, got) != 0)
        unit_fail(__FILE__, __LINE__, "for %s: got %s, jansson wrote %s", text,
                  got ? got : "(null)", want);
    free(want);
    free(got);
    json_decref(v);
}

TEST(json_dumps_matches_jansson_byte_for_byte)
{
    same_as_jansson("{}");
    same_as_jansson("[]");
    same_as_jansson("null");
    same_as_jansson("[true,false,null,0,-1,9223372036854775807,-9223372036854775808]");
    same_as_jansson("{\"b\":1,\"a\":{\"z\":[1,{\"y\":\"x\"}],\"c\":[]},\"d\":\"\"}");
    same_as_jansson("\"quote \\\" backslash \\\\ slash / tab \\t nl \\n cr \\r bs \\b ff \\f\"");
    same_as_jansson("\"ctl \\u0001 \\u001f \\u007f nul \\u0000 end\"");
    same_as_jansson("\"utf8 h\\u00e9 \\u2028 \\ud83d\\ude00 caf\xc3\xa9\"");
    same_as_jansson("{\"k\\u0001\\\"\":\"v\"}");
    same_as_jansson("[1.5,0.1,1e300,-0.0,100.0]");
    same_as_jansson("{\"activity\":{\"id\":\"x\",\"attr\":{\"str::s\":\"Hi\",\"bol::t\":true}}}");
}

TEST(json_only_keys_names_the_path)
{
    static const char *const ALLOWED[] = {"a", "b", NULL};
    hookd_error err = {0};
    json_t *ok = json_loads("{\"a\":1,\"b\":2}", 0, NULL);
    json_t *bad = json_loads("{\"a\":1,\"c\":2}", 0, NULL);
    CHECK_INT(hookd_json_only_keys(ok, ALLOWED, "x", &err), 0);
    CHECK_INT(hookd_json_only_keys(bad, ALLOWED, "x[0]", &err), HOOKD_EINVAL);
    CHECK_STR(err.field, "x[0].c");
    CHECK_INT(hookd_json_only_keys(bad, ALLOWED, "", &err), HOOKD_EINVAL);
    CHECK_STR(err.field, "c");
    json_decref(ok);
    json_decref(bad);
}
