/** Tests run against the real Postgres and Redis of this machine (see README). */
module.exports = {
  testEnvironment: "node",
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
