import type { Queue } from "bullmq";
import type { DataSource } from "typeorm";
import type { Config } from "../config";
import type { DataMap } from "../datamap/schema";
import type { Logger } from "../logger";
import type { MailTemplates } from "../mail/templates";
import type { MailTransport } from "../mail/transport";
import type { StoreSet } from "../stores/store-set";

/** What the build-export job needs; built once per worker process. */
export interface ExportRuntime {
  ds: DataSource;
  config: Config;
  dataMap: DataMap;
  /** The stores of the data map: the subject store resolves the subject, every store's exporter adds its data. */
  stores: StoreSet;
  /** Where the export's mail job goes once the zip is ready. */
  mailQueue: Queue;
  logger: Logger;
}

/** What the send-mail job needs; one SMTP transport per worker process. */
export interface MailRuntime {
  ds: DataSource;
  config: Config;
  dataMap: DataMap;
  transport: MailTransport;
  /** Templates by message kind, loaded (and checked) at start-up. */
  templates: { export: MailTemplates };
  logger: Logger;
}
