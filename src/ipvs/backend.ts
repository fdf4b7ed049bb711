/** The contract between `LbTable` and a backend (ipvsadm, nftables, none). */
import type { LbService, LbTableState } from './table';

/** What one sync did. */
export interface SyncReport {
  /** Operations (ipvsadm lines, or 1 for an nft transaction) sent to the kernel; 0 = already in shape. */
  ops: number;
  /** Foreign entries seen (service keys, `svc -r real` keys), left alone. */
  foreign: string[];
  /** The table as read back after the sync (kernel truth, for status). */
  actual: LbService[];
  /** Warnings about limitations met (e.g. scheduler fallback); the caller logs each distinct one once. */
  warnings: string[];
}

/** A fault after the retry: the kernel did not take what we asked. */
export class LbApplyError extends Error {
  constructor(
    readonly backend: string,
    readonly detail: string[],
  ) {
    super(`${backend}: table does not verify after apply and one retry: ${detail.slice(0, 5).join('; ')}`);
    this.name = 'LbApplyError';
  }
}

/** Options of one apply of the desired table (what to verify, what the caller already knows changed). */
export interface SyncOptions {
  /**
   * Read the kernel before diffing (default). False lets a driver diff against the table it read back
   * after its previous sync (what a weight burst needs: one read instead of two); the apply is verified by
   * a re-read either way, and a mismatch falls back to a fresh diff.
   */
  fresh?: boolean;
}

/** One LB backend (ipvsadm, nftables): reads the kernel's table, applies a diff, verifies by re-reading. */
export interface LbDriver {
  readonly name: 'ipvsadm' | 'nftables' | 'none';
  /** Make the kernel match `desired` (only entries we own), verify by reading back, retry once, else throw LbApplyError. */
  sync(desired: LbTableState, owned: ReadonlySet<string>, opts?: SyncOptions): Promise<SyncReport>;
}
