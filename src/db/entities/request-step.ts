import { EntitySchema } from "typeorm";
import type { StepAction } from "../../types";

/** What a request did (or, for a preview, would do) to one table: action and row count. */
export interface RequestStep {
  id: string;
  requestId: string;
  store: string;
  table: string;
  action: StepAction;
  rows: number;
  /** Legal ground of a `keep`. */
  ground: string | null;
  createdAt: Date;
}

/** TypeORM mapping of {@link RequestStep}. */
export const RequestStepEntity = new EntitySchema<RequestStep>({
  name: "RequestStep",
  tableName: "request_step",
  schema: "lethe",
  columns: {
    id: { type: "bigint", primary: true, generated: "increment" },
    requestId: { type: "uuid", name: "request_id" },
    store: { type: "text" },
    table: { type: "text", name: "table_name" },
    action: { type: "text" },
    rows: { type: "integer" },
    ground: { type: "text", nullable: true },
    createdAt: { type: "timestamptz", name: "created_at", createDate: true },
  },
});
