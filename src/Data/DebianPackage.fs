module Reconstruct.Data.DebianPackage

open System
open System.Diagnostics
open System.IO

let private run (file: string) (args: string list) (cwd: string) =
    let psi = ProcessStartInfo(file, WorkingDirectory = cwd, UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true)
    for a in args do
        psi.ArgumentList.Add a
    use p =
        try Process.Start psi
        with :? ComponentModel.Win32Exception as e -> failwithf "DebianPackage.fetch: cannot run %s: %s" file e.Message
    let err = p.StandardError.ReadToEndAsync()
    p.StandardOutput.ReadToEnd() |> ignore
    p.WaitForExit()
    if p.ExitCode <> 0 then
        let message = err.Result.Trim().Replace('\n', ' ')
        failwithf "DebianPackage.fetch: `%s %s` failed with exit code %d: %s" file (String.Join(" ", args)) p.ExitCode message

let fetch (package: string) (downloadSize: string) (cacheDir: string) (isExtracted: string -> bool) (log: string -> unit) : string =
    // Absolute, because the tools below run with their own working directory: a relative
    // cache (the default `.cache/data`) would name a different folder for them.
    let cacheDir = Path.GetFullPath cacheDir
    let extracted = Path.Combine(cacheDir, package)
    if not (isExtracted extracted) then
        let debs = Path.Combine(cacheDir, "debs")
        Directory.CreateDirectory debs |> ignore
        let findDeb () = Directory.GetFiles(debs, package + "_*.deb") |> Array.sort |> Array.tryLast
        let deb =
            match findDeb () with
            | Some d -> d
            | None ->
                log (sprintf "downloading %s (%s) with apt-get download into %s" package downloadSize debs)
                run "apt-get" [ "download"; package ] debs
                match findDeb () with
                | Some d -> d
                | None -> failwithf "DebianPackage.fetch: apt-get download left no %s_*.deb in %s" package debs
        log (sprintf "extracting %s" (Path.GetFileName deb))
        // Into a temporary folder renamed at the end, so an interrupted run leaves no half tree.
        let temp = extracted + ".partial"
        if Directory.Exists temp then Directory.Delete(temp, true)
        run "dpkg-deb" [ "-x"; deb; temp ] cacheDir
        if Directory.Exists extracted then Directory.Delete(extracted, true)
        Directory.Move(temp, extracted)
    extracted
