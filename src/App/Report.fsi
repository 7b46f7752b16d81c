/// The HTML report of a folder the framework wrote (`reconstruct report`): one page a person
/// opens from disk, where each mesh can be turned with the mouse. Two kinds of folder:
///   * a predict output folder (summary.json; per image NAME.obj/.mtl/NAME_texture.png,
///     NAME.pose.json, NAME.png): per image its figure, a 3D view of its textured mesh and its
///     pose, then the summary table (done, skipped, failed with the reason, seconds per image);
///   * a training run folder (config.json, metrics.jsonl, curves.png, eval/, predictions/):
///     the loss curves, the evaluation tables (each eval/*.json `EvalReport.toJson` wrote) and
///     figures, and a 3D view of the first test predictions with their scores.
///
/// The page works from file:// with no network: images are data URIs, each mesh is a GLB
/// (`Gltf`) in base64 inside the page, and the viewer is one classic script, viewer.js (three.js
/// bundled by `dotnet fsi build.fsx viewer`, see viewer/src/viewer.js), copied beside it.
/// All text taken from the folder is HTML-escaped.
module Reconstruct.App.Report

/// The folder cannot be reported or the report cannot be written; the message is one line,
/// "<path>: <what>".
exception ReportError of path: string * problem: string

/// "index.html", the page.
[<Literal>]
val PageFile: string = "index.html"

/// "viewer.js", the viewer script beside the page.
[<Literal>]
val ViewerFile: string = "viewer.js"

/// A predict folder's images beyond this many keep their figure and pose without a 3D view
/// (each view adds ~200 kB of base64 to the page and a mesh to draw).
[<Literal>]
val MaxPredictViews: int = 48

/// A run's test predictions shown in 3D: the first this many (in the evaluation's order).
[<Literal>]
val MaxRunViews: int = 12

/// The bundled viewer: viewer/dist/viewer.js in the first folder above the running assembly
/// (or above the current folder) that has one. Raises ReportError when none is built, naming
/// the command that builds it.
val viewerScript: unit -> string

/// Writes the report of `source` (a predict output folder or a training run folder) into
/// `out` (created; usually `<source>/report`): PageFile, and ViewerFile copied beside it, each
/// atomically. Returns the page's path. A mesh or image of one instance that cannot be read
/// becomes a line on the page in its place. Raises ReportError naming the path when `source`
/// is missing or neither kind, when its summary.json, config.json or metrics.jsonl does not
/// read, or when the viewer is not built; Files.FileWriteError when `out` cannot be written.
val write: source: string -> out: string -> string

/// `write` with the page named `pageFile` (a plain file name, e.g. "report.html") instead of
/// PageFile. A predict folder that also holds an eval/ folder of `EvalReport` JSON files (the
/// demo scores its reconstructions against the ground truth) shows those tables first.
val writePage: source: string -> out: string -> pageFile: string -> string
