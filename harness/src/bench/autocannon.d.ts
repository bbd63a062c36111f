/** The part of autocannon's API the NMI benchmark uses (the package ships no type declarations). */
declare module "autocannon" {
  export interface AutocannonOptions {
    readonly url: string;
    readonly connections?: number;
    readonly duration?: number;
    readonly amount?: number;
    readonly pipelining?: number;
    readonly workers?: number;
    readonly headers?: Readonly<Record<string, string>>;
    readonly method?: string;
  }
  export interface Histogram {
    readonly average: number;
    readonly mean: number;
    readonly p50: number;
    readonly p99: number;
    readonly max: number;
    readonly total: number;
  }
  export interface AutocannonResult {
    readonly latency: Histogram;
    readonly requests: Histogram & { readonly sent: number };
    readonly duration: number;
    readonly errors: number;
    readonly timeouts: number;
    readonly non2xx: number;
    readonly "2xx": number;
  }
  function autocannon(options: AutocannonOptions): Promise<AutocannonResult>;
  export default autocannon;
}
