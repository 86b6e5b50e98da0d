/** Tests run against the real Postgres and Redis of this machine (see README). */
module.exports = {
  // jest-environment-node that fails a test file leaking a connection, worker, process or server.
  testEnvironment: "<rootDir>/test/helpers/leak-guard.ts",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  transform: {
    "^.+\\.(t|j|mj)sx?$": ["@swc/jest", { jsc: { parser: { syntax: "typescript" }, target: "es2022" }, module: { type: "commonjs" } }],
  },
  transformIgnorePatterns: [
    "/node_modules/(?!(archiver|zip-stream|compress-commons|crc32-stream|readdir-glob|lazystream|is-stream|content-disposition|cookie)/)",
  ],
  testTimeout: 60000,
  maxWorkers: 2,
};
