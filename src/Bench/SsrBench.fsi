/// SSR's costs (issue 14), figures not assertions: SiamVP's training update (pairs/s), the
/// pseudo-labelling round (images/s, each matched against 24 views and again at 45°) and one SSR
/// iteration against SoftRas' step and a matmul timed in the same run, at the baseline's width 32
/// and SSR's 64.
module Reconstruct.Bench.SsrBench

/// Runs the measurements (a minute or two on 2 cores).
val all: unit -> Reconstruct.Bench.Report.Figure list
