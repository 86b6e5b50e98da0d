import { ConfigError } from "../../src/config";
import { testConfig } from "../helpers/config";

/** REDIS_CLUSTER_NODES: parsed into seed nodes; a queue prefix without a hash tag is refused, naming the variable. */
describe("REDIS_CLUSTER_NODES", () => {
  it("is absent by default: one Redis at REDIS_URL", () => {
    expect(testConfig().redisClusterNodes).toBeUndefined();
  });

  it("parses host:port seed nodes", () => {
    const config = testConfig({ REDIS_CLUSTER_NODES: "10.0.0.1:7000,redis-b.internal:7001", LETHE_QUEUE_PREFIX: "{lethe}" });
    expect(config.redisClusterNodes).toEqual([
      { host: "10.0.0.1", port: 7000 },
      { host: "redis-b.internal", port: 7001 },
    ]);
  });

  it("refuses a queue prefix without a hash tag", () => {
    expect(() => testConfig({ REDIS_CLUSTER_NODES: "10.0.0.1:7000", LETHE_QUEUE_PREFIX: "lethe" })).toThrow(ConfigError);
    expect(() => testConfig({ REDIS_CLUSTER_NODES: "10.0.0.1:7000", LETHE_QUEUE_PREFIX: "lethe" })).toThrow(/LETHE_QUEUE_PREFIX: must contain a hash tag/);
  });

  it("refuses a list that is not host:port", () => {
    expect(() => testConfig({ REDIS_CLUSTER_NODES: "redis://10.0.0.1:7000", LETHE_QUEUE_PREFIX: "{lethe}" })).toThrow(/REDIS_CLUSTER_NODES: must be host:port/);
  });
});
