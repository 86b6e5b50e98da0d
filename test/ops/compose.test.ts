import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseEnv } from "node:util";
import { REPO_ROOT } from "../helpers/child-process";

/**
 * Issue #10, Docker that works: docker-compose.yml passes every variable of .env.example to
 * Lethe, mails links to the port it publishes, checks Postgres over TCP and the worker by its
 * heartbeat, pins Mailpit; the image runs the compiled CLI with `node` (SIGTERM drains) on the Node
 * the dependencies want; .dockerignore keeps local exports, tests and benches out.
 */

const read = (file: string): string => readFileSync(join(REPO_ROOT, file), "utf8");

/** The keys of the `environment: &lethe-env` block shared by every Lethe service. */
function letheEnvKeys(compose: string): string[] {
  const lines = compose.split("\n");
  const start = lines.findIndex((l) => /^\s+environment: &lethe-env\s*$/.test(l));
  expect(start).toBeGreaterThan(-1);
  const keys: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (/^\s*#/.test(line)) continue;
    const m = /^ {4}([A-Z][A-Z0-9_]*):/.exec(line);
    if (!m) break;
    keys.push(m[1]!);
  }
  return keys;
}

describe("docker-compose.yml, Dockerfile and .dockerignore", () => {
  const compose = read("docker-compose.yml");
  const dockerfile = read("Dockerfile");

  it("passes every variable of .env.example to Lethe, and nothing it does not read", () => {
    const example = Object.keys(parseEnv(read(".env.example"))).sort();
    expect(letheEnvKeys(compose).sort()).toEqual(example);
  });

  it("mails links to the port it publishes", () => {
    const published = /"127\.0\.0\.1:\$\{(LETHE_API_PORT):-(\d+)\}:8080"/.exec(compose);
    expect(published).not.toBeNull();
    expect(compose).toContain(`LETHE_PUBLIC_URL: "http://127.0.0.1:\${${published![1]}:-${published![2]}}"`);
  });

  it("checks Postgres over TCP, the worker by its heartbeat, and pins Mailpit", () => {
    expect(compose).toMatch(/pg_isready", "-h", "127\.0\.0\.1"/);
    expect(compose).toMatch(/worker:[\s\S]*healthcheck:[\s\S]*LETHE_HEARTBEAT_FILE/);
    expect(compose).toMatch(/image: axllent\/mailpit:v\d+\.\d+\.\d+/);
    expect(compose).not.toMatch(/npx/);
  });

  it("runs the compiled CLI with node on Node 22, which every dependency accepts", () => {
    const froms = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
    expect(froms.length).toBeGreaterThan(0);
    for (const from of froms) expect(from).toMatch(/^node:22-slim\b/);
    expect(dockerfile).toMatch(/^ENTRYPOINT \["node", "bin\/lethe\.js"\]$/m);
    expect(dockerfile).not.toMatch(/npx|tsx workers/);
    const engines = (JSON.parse(read("package.json")) as { engines: { node: string } }).engines.node;
    expect(engines).toMatch(/>=22|\^22/);
  });

  it("keeps local exports, tests and benches out of the build context", () => {
    const ignored = read(".dockerignore")
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith("#"));
    expect(ignored).toEqual(expect.arrayContaining(["var", "test", "bench", ".env", "node_modules"]));
  });
});
