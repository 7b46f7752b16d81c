module Reconstruct.Torch.Files

open System
open System.IO
open System.Text

exception FileWriteError of path: string * problem: string
    with override this.Message = sprintf "%s: %s" this.path this.problem

let private oneLine (s: string) = s.Replace("\r", " ").Replace("\n", " ")

let writeAtomically (path: string) (write: Stream -> unit) =
    let fail problem = raise (FileWriteError(path, problem))
    let full = Path.GetFullPath path
    let dir = Path.GetDirectoryName full
    if not (Directory.Exists dir) then fail (sprintf "directory %s does not exist" dir)
    // A unique temporary name, so two writers of one path cannot rename each other's halves.
    let temp = Path.Combine(dir, sprintf ".%s.%s.tmp" (Path.GetFileName full) (Guid.NewGuid().ToString("N").Substring(0, 8)))
    try
        try
            do
                use stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 <<< 16)
                write stream
                stream.Flush(true)
            File.Move(temp, full, true)
        with
        | :? IOException
        | :? UnauthorizedAccessException as e -> fail (sprintf "cannot write: %s" (oneLine e.Message))
    finally
        if File.Exists temp then File.Delete temp

let writeTextAtomically (path: string) (text: string) =
    writeAtomically path (fun stream -> stream.Write(UTF8Encoding(false).GetBytes text))

let writeBytesAtomically (path: string) (bytes: byte[]) =
    writeAtomically path (fun stream -> stream.Write(bytes, 0, bytes.Length))

let private isRunning (pid: int) =
    try
        use p = Diagnostics.Process.GetProcessById pid
        not p.HasExited
    with :? ArgumentException | :? InvalidOperationException -> false

let private sibling (folder: string) (kind: string) =
    let name = sprintf ".%s.%s-%d-%s" (Path.GetFileName folder) kind Environment.ProcessId (Guid.NewGuid().ToString("N").Substring(0, 8))
    Path.Combine(Path.GetDirectoryName folder, name)

let private removeLeftovers (folder: string) =
    let name = Path.GetFileName folder
    for dir in Directory.GetDirectories(Path.GetDirectoryName folder, sprintf ".%s.*-*-*" name) do
        match Path.GetFileName(dir).Substring(name.Length + 2).Split '-' with
        | [| ("new" | "old"); pid; _ |] ->
            match Int32.TryParse pid with
            | true, pid when not (isRunning pid) -> Directory.Delete(dir, true)
            | _ -> ()
        | _ -> ()

let private move (source: string) (target: string) =
    if Directory.Exists source then Directory.Move(source, target) else File.Move(source, target)

let replaceFolder (folder: string) (write: string -> 'a) : 'a =
    let full = Path.TrimEndingDirectorySeparator(Path.GetFullPath folder)
    Directory.CreateDirectory(Path.GetDirectoryName full) |> ignore
    removeLeftovers full
    let fresh = sibling full "new"
    Directory.CreateDirectory fresh |> ignore
    try
        let result = write fresh
        Directory.CreateDirectory full |> ignore
        let aside = sibling full "old"
        Directory.CreateDirectory aside |> ignore
        let moved = Collections.Generic.List<string * string>()
        try
            for e in Directory.GetFileSystemEntries full do
                let target = Path.Combine(aside, Path.GetFileName e)
                move e target
                moved.Add(e, target)
            for e in Directory.GetFileSystemEntries fresh do
                let target = Path.Combine(full, Path.GetFileName e)
                move e target
                moved.Add(e, target)
        with _ ->
            // Back as it was: the previous entries in `folder`, the new ones in their sibling.
            for source, target in Seq.rev moved do
                try move target source with _ -> ()
            try Directory.Delete aside with _ -> ()
            reraise ()
        // The new contents are in place; an old copy that cannot be deleted now is a leftover
        // the next run removes.
        try Directory.Delete(aside, true) with :? IOException | :? UnauthorizedAccessException -> ()
        Directory.Delete fresh
        result
    with _ ->
        if Directory.Exists fresh then
            try Directory.Delete(fresh, true) with :? IOException | :? UnauthorizedAccessException -> ()
        reraise ()

// A held lock shows as an IOException whose HResult is the OS's "would block" (EWOULDBLOCK:
// 11 on Linux, 35 on macOS) or Windows' sharing violation; any other failure is an error.
let private isHeldElsewhere (e: IOException) =
    e.HResult = 11 || e.HResult = 35 || e.HResult &&& 0xFFFF = 32

let withLock (path: string) (waiting: unit -> unit) (action: unit -> 'a) : 'a =
    let full = Path.GetFullPath path
    Directory.CreateDirectory(Path.GetDirectoryName full) |> ignore
    let mutable announced = false
    let mutable held: FileStream = null
    while isNull held do
        try
            // FileShare.None takes an exclusive advisory lock (flock on Unix) that the OS
            // releases when the process dies, so a killed holder never blocks the next run.
            held <- new FileStream(full, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None)
        with
        | :? IOException as e when isHeldElsewhere e ->
            if not announced then
                announced <- true
                waiting ()
            Threading.Thread.Sleep 200
        | :? IOException
        | :? UnauthorizedAccessException as e -> raise (FileWriteError(full, sprintf "cannot lock: %s" (oneLine e.Message)))
    use _ = held
    action ()
