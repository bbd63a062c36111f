import { ok, type LoggerPort, type NetfilterPort } from "@podid/core";

/**
 * `--interception=none`: a NetfilterPort that installs nothing and reports itself intact, for the demo and
 * development, where pods call NMI directly (`AZURE_POD_IDENTITY_AUTHORITY_HOST`) and nothing stops them
 * from reaching the metadata address. Never for a node: it says so loudly at start.
 */
export function disabledInterception(logger: LoggerPort): NetfilterPort {
  let warned = false;
  const intact = () => ok({ intact: true, drift: [] });
  return {
    ensure: async () => {
      if (!warned) {
        warned = true;
        logger.warn({}, "interception disabled (--interception=none): pods can reach the metadata address directly; demo and development only");
      }
      return intact();
    },
    inspect: async () => intact(),
    release: async () => ok(undefined),
  };
}
