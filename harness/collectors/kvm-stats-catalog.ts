// The x86 KVM statistics and their types, for sources that do not describe themselves (debugfs
// files carry no type). Only cumulative statistics may be turned into before/after deltas; instant
// values, peaks and histograms may not. Source: the table in
// test/fixtures/kvm-binary-stats/kvm-x86-stats-names.md (upstream arch/x86/kvm/x86.c descriptor
// tables plus the PVM development kernel's additions); a unit test keeps the two in step.

export type KvmStatType = 'cumulative' | 'instant' | 'peak' | 'histogram';
export type KvmStatScope = 'vm' | 'vcpu';

export interface KvmStatInfo {
  type: KvmStatType;
  scope: KvmStatScope;
  /** Power-of-ten exponent of the unit: -9 for the `_ns` times, 0 for counts. */
  exponent: number;
}

const vm = (type: KvmStatType): KvmStatInfo => ({ type, scope: 'vm', exponent: 0 });
const vcpu = (type: KvmStatType, exponent = 0): KvmStatInfo => ({ type, scope: 'vcpu', exponent });

export const kvmX86Stats: Readonly<Record<string, KvmStatInfo>> = {
  remote_tlb_flush: vm('cumulative'),
  remote_tlb_flush_requests: vm('cumulative'),
  mmu_shadow_zapped: vm('cumulative'),
  mmu_pte_write: vm('cumulative'),
  mmu_pde_zapped: vm('cumulative'),
  mmu_flooded: vm('cumulative'),
  mmu_recycled: vm('cumulative'),
  mmu_cache_miss: vm('cumulative'),
  mmu_unsync: vm('instant'),
  pages_4k: vm('instant'),
  pages_2m: vm('instant'),
  pages_1g: vm('instant'),
  nx_lpage_splits: vm('instant'),
  max_mmu_rmap_size: vm('peak'),
  max_mmu_page_hash_collisions: vm('peak'),
  mmu_kicks_spared: vm('cumulative'),

  halt_successful_poll: vcpu('cumulative'),
  halt_attempted_poll: vcpu('cumulative'),
  halt_poll_invalid: vcpu('cumulative'),
  halt_wakeup: vcpu('cumulative'),
  halt_poll_success_ns: vcpu('cumulative', -9),
  halt_poll_fail_ns: vcpu('cumulative', -9),
  halt_wait_ns: vcpu('cumulative', -9),
  halt_poll_success_hist: vcpu('histogram', -9),
  halt_poll_fail_hist: vcpu('histogram', -9),
  halt_wait_hist: vcpu('histogram', -9),
  blocking: vcpu('instant'),
  pf_taken: vcpu('cumulative'),
  pf_fixed: vcpu('cumulative'),
  pf_emulate: vcpu('cumulative'),
  pf_spurious: vcpu('cumulative'),
  pf_fast: vcpu('cumulative'),
  pf_mmio_spte_created: vcpu('cumulative'),
  pf_guest: vcpu('cumulative'),
  tlb_flush: vcpu('cumulative'),
  invlpg: vcpu('cumulative'),
  exits: vcpu('cumulative'),
  io_exits: vcpu('cumulative'),
  mmio_exits: vcpu('cumulative'),
  signal_exits: vcpu('cumulative'),
  irq_window_exits: vcpu('cumulative'),
  nmi_window_exits: vcpu('cumulative'),
  l1d_flush: vcpu('cumulative'),
  halt_exits: vcpu('cumulative'),
  request_irq_exits: vcpu('cumulative'),
  irq_exits: vcpu('cumulative'),
  host_state_reload: vcpu('cumulative'),
  fpu_reload: vcpu('cumulative'),
  insn_emulation: vcpu('cumulative'),
  insn_emulation_fail: vcpu('cumulative'),
  hypercalls: vcpu('cumulative'),
  irq_injections: vcpu('cumulative'),
  nmi_injections: vcpu('cumulative'),
  req_event: vcpu('cumulative'),
  nested_run: vcpu('cumulative'),
  directed_yield_attempted: vcpu('cumulative'),
  directed_yield_successful: vcpu('cumulative'),
  preemption_reported: vcpu('cumulative'),
  preemption_other: vcpu('cumulative'),
  guest_mode: vcpu('instant'),
  notify_window_exits: vcpu('cumulative'),
  pf_parked: vcpu('cumulative'),
  pf_park_timeouts: vcpu('cumulative'),
};

/** Whether a statistic counts VM exits (`exits` itself and every `*_exits`). */
export function isExitStat(name: string): boolean {
  return name === 'exits' || name.endsWith('_exits');
}
