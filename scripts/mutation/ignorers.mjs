// Stryker ignorers for the mutation run (stryker.config.mjs): code whose mutants change only text a
// person reads, never what a client or the application's code can observe through the contract.
//  - ErrorText: the message (and option name) strings given to `new SomethingError(...)`. The
//    error's class and whether it is thrown stay mutated.
//  - LogCall: calls of core's `log(logger, level, fields, message)` helper (what goes to the
//    application's logger, not to a client).
import { declareValuePlugin, PluginKind } from "@stryker-mutator/api/plugin";

const isText = (node) => node.type === "StringLiteral" || node.type === "TemplateLiteral";

export const strykerPlugins = [
  declareValuePlugin(PluginKind.Ignore, "ErrorText", {
    shouldIgnore(path) {
      const parent = path.parentPath;
      if (
        isText(path.node) &&
        parent?.isNewExpression() &&
        path.listKey === "arguments" &&
        parent.node.callee.type === "Identifier" &&
        /Error$/.test(parent.node.callee.name)
      ) {
        return "error message text (read by people; the error's class and the throw stay mutated)";
      }
      return undefined;
    },
  }),
  declareValuePlugin(PluginKind.Ignore, "LogCall", {
    shouldIgnore(path) {
      if (path.isCallExpression() && path.node.callee.type === "Identifier" && path.node.callee.name === "log") {
        return "a log line to the application's logger (not observable by clients)";
      }
      return undefined;
    },
  }),
];
