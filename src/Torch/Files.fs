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
