/**
 * @verb/conformance: the adapter conformance suite. Use the CLI (`verb-conformance`) or call
 * {@link runConformance} from your own test runner.
 */

export { allChecks } from "./checks/index.js";
export { deflateMessage, type Frame, inflateMessage, Opcode, RawClient } from "./clients/raw.js";
export { TestClient } from "./clients/ws-client.js";
export { columnOf, formatMatrix, formatReport, passed } from "./report.js";
export { BUILT_IN_ADAPTERS, type RunOptions, runAdapter, runConformance } from "./runner.js";
export type { Check, CheckContext, CheckOutcome, CheckResult, CheckStatus, FixtureEvent } from "./types.js";
