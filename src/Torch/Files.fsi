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

/// Replaces the whole contents of the folder `folder`: `write` fills a fresh hidden sibling
/// folder (its argument) and returns a result; then the folder's previous entries move to a
/// second sibling and the new ones into `folder` (which itself stays, so a shell open in it
/// still sees it), and the previous entries are deleted. When `write` or the swap fails (an
/// exception, a cancellation), the sibling is deleted and `folder` holds what it held. The
/// siblings are `.<name>.new-<pid>-<id>` and `.<name>.old-<pid>-<id>`; those left by a process
/// that was killed (and no longer runs) are removed first. The caller decides whether
/// `folder` may be replaced at all (this deletes whatever it held).
val replaceFolder: folder: string -> write: (string -> 'a) -> 'a

/// Runs `action` while holding an exclusive lock on the file `path` (created if missing, with
/// its directory; left in place afterwards), so that processes sharing a cache do one thing at a
/// time: while another process (or another call in this one) holds it, `waiting` is called
/// once and the call retries every 200 ms. The OS drops the lock of a process that dies. A
/// path that cannot be opened raises `FileWriteError`.
val withLock: path: string -> waiting: (unit -> unit) -> action: (unit -> 'a) -> 'a
