/**
 * The part of the web `AbortSignal` that core uses. Core compiles without DOM or Node typings,
 * so it names the shape structurally; a real `AbortSignal` satisfies it.
 */
export interface CancellationSignal {
  readonly aborted: boolean;
  readonly reason?: unknown;
  addEventListener(type: "abort", listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: "abort", listener: () => void): void;
}
