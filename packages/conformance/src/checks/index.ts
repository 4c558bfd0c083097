/**
 * Every check of the suite, in report order.
 */

import type { Check } from "../types.js";
import { backpressureChecks } from "./backpressure.js";
import { closeChecks } from "./close.js";
import { compressionChecks } from "./compression.js";
import { controlChecks } from "./control.js";
import { errorChecks } from "./errors.js";
import { hostileChecks } from "./hostile.js";
import { httpChecks } from "./http.js";
import { limitChecks } from "./limits.js";
import { messageChecks } from "./messages.js";
import { protocolChecks } from "./protocol.js";
import { realtimeChecks } from "./realtime.js";
import { requestChecks } from "./request.js";
import { resilienceChecks } from "./resilience.js";
import { sendChecks } from "./send.js";
import { sessionChecks } from "./session.js";
import { shutdownChecks } from "./shutdown.js";
import { timeoutChecks } from "./timeouts.js";
import { topicChecks } from "./topics.js";
import { upgradeChecks } from "./upgrade.js";
import { wireChecks } from "./wire.js";

export const allChecks: Check[] = [
  ...messageChecks,
  ...sendChecks,
  ...closeChecks,
  ...protocolChecks,
  ...errorChecks,
  ...controlChecks,
  ...backpressureChecks,
  ...limitChecks,
  ...compressionChecks,
  ...timeoutChecks,
  ...topicChecks,
  ...realtimeChecks,
  ...resilienceChecks,
  ...hostileChecks,
  ...requestChecks,
  ...httpChecks,
  ...upgradeChecks,
  ...shutdownChecks,
  ...sessionChecks,
  ...wireChecks,
];
