/// Writing files so that a reader never sees half of one: every output of the project (checkpoints,
/// reports, images, meshes, indexes) goes through `writeAtomically`.
module Reconstruct.Torch.Files

/// A file could not be written; the message is one line naming the path and the reason.
exception FileWriteError of path: string * problem: string

/// Writes `path` atomically: `write` fills a temporary file in the same directory, which is
/// flushed to disk and renamed over `path`. If `write` (or anything else) fails, the temporary
/// file is deleted and an existing file at `path` is left untouched. IO failures become
/// `FileWriteError`; other exceptions from `write` pass through unchanged. The directory must
/// exist.
val writeAtomically: path: string -> write: (System.IO.Stream -> unit) -> unit

/// `writeAtomically` with the UTF-8 text `text` (no byte-order mark).
val writeTextAtomically: path: string -> text: string -> unit

/// `writeAtomically` with `bytes`.
val writeBytesAtomically: path: string -> bytes: byte[] -> unit
