import { parseDataMap } from "../../src/datamap/load";
import { subjectHash } from "../../src/subject/hashes";
import { defaultMatch, identityByName, identitySpecs, matchOfIdentity, normalizeIdentity } from "../../src/subject/identity-match";
import { identityEqualsSql, identityInSql } from "../../src/stores/postgres/identity-sql";
import { contactColumns, contactEmailOf } from "../../src/subject/contact";

/** Issue 9, item 3: identities match the way the application means them (the shared helper). */
describe("identity match rules", () => {
  it("normalises emails by default (case, surrounding spaces) and compares other identities exactly", () => {
    expect(defaultMatch("email", "email")).toBe("normalized");
    expect(defaultMatch("login", "contact_email")).toBe("normalized");
    expect(defaultMatch("username", "login")).toBe("exact");
    expect(normalizeIdentity("  ZQXMARK8@Example.com ", "normalized")).toBe("zqxmark8@example.com");
    expect(normalizeIdentity("  ZQXMARK8@Example.com ", "exact")).toBe("  ZQXMARK8@Example.com ");
    // Like btrim(): only spaces are trimmed.
    expect(normalizeIdentity("\tA@x.org", "normalized")).toBe("\ta@x.org");
  });

  it("reads identities written as a column or as {column, match}", () => {
    const subject = { key: "id", identities: { email: "email", username: { column: "login", match: "normalized" as const }, code: { column: "ref" } } };
    expect(identitySpecs(subject)).toEqual([
      { name: "email", column: "email", match: "normalized" },
      { name: "username", column: "login", match: "normalized" },
      { name: "code", column: "ref", match: "exact" },
    ]);
    expect(identityByName(subject, "id")).toEqual({ name: "id", column: "id", match: "exact" });
    expect(identityByName(subject, "phone")).toBeUndefined();
    expect(matchOfIdentity(subject, "username")).toBe("normalized");
    expect(matchOfIdentity(undefined, "email")).toBe("normalized");
  });

  it("hashes by the rule, so a hold on a mixed-case padded email names the stored subject", () => {
    const key = Buffer.alloc(32, 7);
    expect(subjectHash(key, "email", "  ZQXMARK8@Example.com")).toBe(subjectHash(key, "email", "zqxmark8@example.com"));
    expect(subjectHash(key, "username", "Ann", "exact")).not.toBe(subjectHash(key, "username", "ann", "exact"));
    expect(subjectHash(key, "username", "Ann", "normalized")).toBe(subjectHash(key, "username", "ann ", "normalized"));
  });

  it("builds index-friendly SQL: lower(btrim(col)) on both sides, or the column's own type", () => {
    expect(identityEqualsSql("email", "$1", "normalized")).toBe('lower(btrim("email"::text)) = lower(btrim($1::text))');
    expect(identityEqualsSql("id", "$1", "exact", "integer")).toBe('"id" = $1::text::integer');
    expect(identityInSql("email", "$2", "normalized")).toBe('lower(btrim("email"::text)) = ANY(ARRAY(SELECT lower(btrim(v)) FROM unnest($2::text[]) AS v))');
    expect(identityInSql("id", "$2", "exact", "bigint")).toBe('"id" = ANY($2::text[]::bigint[])');
  });

  it("rejects a match rule the helper does not know, and one column used by two identities", () => {
    const map = (identities: unknown) => ({
      version: 1,
      subject: { store: "s", table: "t", key: "id", identities },
      stores: { s: { kind: "postgres", url: "postgres://x/y", tables: { t: { action: "delete" } } } },
    });
    expect(() => parseDataMap(map({ email: { column: "email", match: "fuzzy" } }))).toThrow(/subject\.identities\.email/);
    expect(() => parseDataMap(map({ email: "email", mail: { column: "email" } }))).toThrow(
      'subject.identities.mail: column "email" is already identity "email"',
    );
  });
});

/** Issue 9, item 8: mail goes to the contact column; maps without one fall back to the email identity. */
describe("contact columns", () => {
  it("uses subject.contact, else the email identity", () => {
    expect(contactColumns({ subject: { key: "id", identities: { email: "mail" }, contact: { email: "notify_to", locale: "lang" } } })).toEqual({
      email: "notify_to",
      locale: "lang",
    });
    expect(contactColumns({ subject: { key: "id", identities: { email: "mail" } } })).toEqual({ email: "mail" });
    expect(contactColumns({ subject: { key: "id", identities: {} } })).toEqual({});
    expect(contactEmailOf({ contact: { email: "a@x.org" }, identities: { email: "b@x.org" } })).toBe("a@x.org");
    expect(contactEmailOf({ identities: { email: "b@x.org" } })).toBe("b@x.org");
  });
});
