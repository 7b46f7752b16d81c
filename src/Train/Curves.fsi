/// curves.png of a run directory: one panel per loss term and per validation metric, drawn
/// with the project's own image code (no plotting library: ScottPlot needs SkiaSharp's native
/// library, and a plot of a few lines needs none of it). A panel shows the per-pixel-column
/// mean of the values (blue; validation points orange), their min-max band (grey), the name,
/// the value range and the iteration range in a small bitmap font. The y axis is logarithmic
/// when the values are positive and span more than a factor 20.
namespace Reconstruct.Train

open Reconstruct.Torch

module Curves =
    /// "curves.png".
    [<Literal>]
    val FileName: string = "curves.png"

    /// The figure of these lines: (3, H, W) uint8, owned by the caller (or the current
    /// disposal scope). No lines give a single empty panel.
    val render: lines: MetricsLine list -> Tensor

    /// Reads `metricsPath` and writes its figure to `pngPath` atomically.
    val draw: metricsPath: string -> pngPath: string -> unit
