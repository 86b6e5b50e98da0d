import type { DecisionRefusal } from "./decide";
import type { ExtensionRefusal } from "./extend";
import type { SettleRefusal } from "./recipient-list";
import type { LiftRefusal } from "./restrictions";

/** Why a decision, an extension or a lift was not taken, as a person should read it (the API's 409 detail, the CLI's message). */
export function refusalMessage(outcome: DecisionRefusal | ExtensionRefusal | LiftRefusal | SettleRefusal): string {
  switch (outcome) {
    case "not-found":
      return "no request (or restriction) has this id";
    case "not-awaiting":
      return "the request does not wait for this decision (it was taken already, or the request is of another kind)";
    case "started":
      return "the request has started changing stores or has ended; a refusal is possible only before (lift a restriction instead)";
    case "no-subject":
      return "the request no longer holds the person's reference, so they cannot be told";
    case "final":
      return "the request has ended; it cannot be extended";
    case "already-extended":
      return "the request was extended already (already-extended); Art. 12(3) allows one extension of at most two further months";
    case "past-due":
      return "the original due date has passed; an extension must be decided and told within the first month (Art. 12(3))";
    case "lifting":
      return "the lift waits for its notice to the person (Art. 18(3)); it takes effect once the notice was sent";
    case "lifted":
      return "the restriction was lifted already";
    case "not-open":
      return "only a manual task, or a processor event that failed or did not know the action, can be settled by hand";
  }
}
