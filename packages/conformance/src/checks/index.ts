/**
 * Every check of the suite, in report order.
 */

import type { Check } from "../types.js";
import { closeChecks } from "./close.js";
import { controlChecks } from "./control.js";
import { errorChecks } from "./errors.js";
import { messageChecks } from "./messages.js";
import { requestChecks } from "./request.js";
import { shutdownChecks } from "./shutdown.js";

export const allChecks: Check[] = [
  ...messageChecks,
  ...closeChecks,
  ...errorChecks,
  ...controlChecks,
  ...requestChecks,
  ...shutdownChecks,
];
