/**
 * `npm run bench:kv-rotation`: the Key Vault drivers' rotation load on NMI's `/host/token` (kv-rotation.ts says what
 * each part measures): 100 pods over 10 identities against the real `podid-nmi`, then three 24 h token lifetimes on
 * a virtual clock. Ends with one JSON line.
 * @packageDocumentation
 */
import { measureLifetimes, measureRealProcess } from "./kv-rotation.js";

const PODS = 100;
const IDENTITIES = 10;
const LIFETIMES = 3;

async function main(): Promise<void> {
  const real = await measureRealProcess({ pods: PODS, identities: IDENTITIES });
  console.log(
    `kv-rotation (real podid-nmi, HTTP): ${String(PODS)} pods (half FlexVolume azure/kv, half Secrets Store CSI) over ${String(IDENTITIES)} identities, ` +
      `${String(real.rounds)} rotation rounds → ${String(real.calls)} /host/token calls, ${String(real.ok)} × 200; ` +
      `upstream IMDS token requests: ${String(real.upstreamTokenRequests)} for ${String(real.identityResourcePairs)} (identity, resource) pairs ` +
      `(baseline, the original NMI without a token cache: ${String(real.calls)}); SecretProviderClass reads from the apiserver: ${String(real.secretProviderClassReads)} for the ${String(real.secretProviderClasses)} classes in use`,
  );
  const lifetimes = await measureLifetimes({ pods: PODS, identities: IDENTITIES, lifetimes: LIFETIMES });
  console.log(
    `kv-rotation (virtual clock): every pod every 2 min over ${String(LIFETIMES)} token lifetimes of 24 h (${String(lifetimes.rotations)} rotations, ${String(lifetimes.calls)} calls, ${String(lifetimes.ok)} × 200): ` +
      `${String(lifetimes.firstFetches)} first fetches, then ${String(lifetimes.laterFetches)} → ${lifetimes.fetchesPerPairPerLifetime.toFixed(2)} upstream fetches per (identity, resource) per token lifetime (target ≤ 1)`,
  );
  console.log(
    JSON.stringify({
      bench: "kv-rotation",
      pods: PODS,
      identities: IDENTITIES,
      real,
      lifetimes,
      met: real.ok === real.calls && real.upstreamTokenRequests <= real.identityResourcePairs && lifetimes.ok === lifetimes.calls && lifetimes.fetchesPerPairPerLifetime <= 1,
    }),
  );
}

await main();
