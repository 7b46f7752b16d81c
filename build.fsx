// The one entry point: `dotnet fsi build.fsx <target> [-- arguments for the command]`.
// The targets and what they do are listed in `targets` at the end (and printed for an unknown
// one). Every target runs the ones it depends on; each step is fast when there is nothing to do.

open System
open System.Diagnostics
open System.IO

let root = __SOURCE_DIRECTORY__
// libgtest-dev: the kernels' own tests (kernels/tests) run against GoogleTest. chromium: the
// browser the report's tests drive headless (ReportTests.fs, through Playwright).
let debianPackages = [ "libtorch-dev"; "libopenblas0-pthread"; "libstb-dev"; "libgtest-dev"; "cmake"; "g++"; "chromium" ]
// The report viewer's bundler runs on Node.js; any npm on the PATH does (only when none is
// there are Debian's installed, since a Node.js from elsewhere may bring its own npm).
let nodePackages = [ "nodejs"; "npm" ]

let fail (message: string) =
    eprintfn "build.fsx: %s" message
    exit 1

/// Runs a command, streaming its output; returns the exit code.
let run (file: string) (args: string) (cwd: string) =
    let psi = ProcessStartInfo(file, args, WorkingDirectory = cwd, UseShellExecute = false)
    use p = Process.Start psi
    p.WaitForExit()
    p.ExitCode

/// Runs a command and returns (exit code, stdout) without echoing.
let capture (file: string) (args: string) =
    let psi = ProcessStartInfo(file, args, UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true)
    use p = Process.Start psi
    let out = p.StandardOutput.ReadToEnd()
    p.StandardError.ReadToEnd() |> ignore
    p.WaitForExit()
    p.ExitCode, out

let runOrFail file args cwd =
    let code = run file args cwd
    if code <> 0 then fail (sprintf "`%s %s` failed with exit code %d" file args code)

let isInstalled (package: string) =
    let code, out = capture "dpkg-query" (sprintf "-W -f=${Status} %s" package)
    code = 0 && out.Contains "install ok installed"

/// Installs the Debian packages of `packages` that are missing (apt-get, as root).
let installDebian (packages: string list) =
    let missing = packages |> List.filter (isInstalled >> not)
    if not missing.IsEmpty then
        let command = "apt-get install -y " + String.Join(" ", missing)
        let isRoot = Environment.UserName = "root" || (capture "id" "-u" |> snd).Trim() = "0"
        if not isRoot then
            fail (sprintf "missing Debian packages; run as root:\n  apt-get update && %s" command)
        printfn "setup: installing Debian packages: %s" (String.Join(" ", missing))
        runOrFail "apt-get" "update -q" root
        let psi = ProcessStartInfo("apt-get", "install -y -q " + String.Join(" ", missing), WorkingDirectory = root, UseShellExecute = false)
        psi.Environment.["DEBIAN_FRONTEND"] <- "noninteractive"
        use p = Process.Start psi
        p.WaitForExit()
        if p.ExitCode <> 0 then fail (sprintf "`%s` failed with exit code %d" command p.ExitCode)

let onPath (command: string) =
    (Environment.GetEnvironmentVariable "PATH").Split(Path.PathSeparator)
    |> Array.exists (fun dir -> dir <> "" && File.Exists(Path.Combine(dir, command)))

let setup () =
    installDebian debianPackages
    if not (onPath "npm") then installDebian nodePackages
    // Without OpenBLAS, Debian's libtorch falls back to the reference BLAS (~10x slower matmul).
    let blas = "/usr/lib/x86_64-linux-gnu/libblas.so.3"
    if File.Exists blas then
        let target = (FileInfo blas).ResolveLinkTarget(true)
        if not (isNull target) && not (target.FullName.Contains "openblas") then
            printfn "setup: warning: %s points to %s, not OpenBLAS (update-alternatives --config libblas.so.3-x86_64-linux-gnu)" blas target.FullName

let native () =
    setup ()
    let build = Path.Combine(root, "kernels", "build")
    if not (File.Exists(Path.Combine(build, "CMakeCache.txt"))) then
        runOrFail "cmake" (sprintf "-S kernels -B kernels/build -DCMAKE_BUILD_TYPE=Release") root
    runOrFail "cmake" (sprintf "--build kernels/build --target reconstruct_native -j %d" Environment.ProcessorCount) root

/// The report's 3D viewer, viewer/dist/viewer.js: three.js bundled by esbuild into one classic
/// script (viewer/src/viewer.js says why), rebuilt when missing or older than its sources.
let viewer () =
    let dir = Path.Combine(root, "viewer")
    let bundle = Path.Combine(dir, "dist", "viewer.js")
    let lock = Path.Combine(dir, "package-lock.json")
    let sources =
        [ Path.Combine(dir, "package.json"); lock ] @ List.ofArray (Directory.GetFiles(Path.Combine(dir, "src"), "*.js", SearchOption.AllDirectories))
        |> List.filter File.Exists
    let newest = sources |> List.map File.GetLastWriteTimeUtc |> List.max
    if not (File.Exists bundle) || File.GetLastWriteTimeUtc bundle < newest then
        if not (onPath "npm") then fail "viewer: npm is not on the PATH (`dotnet fsi build.fsx setup` installs Debian's nodejs and npm)"
        // npm ci installs exactly the lock file's versions (and only then are they known).
        let installed = Path.Combine(dir, "node_modules", ".package-lock.json")
        if not (File.Exists installed) || (File.Exists lock && File.GetLastWriteTimeUtc installed < File.GetLastWriteTimeUtc lock) then
            runOrFail "npm" (if File.Exists lock then "ci --no-audit --no-fund" else "install --no-audit --no-fund") dir
        runOrFail "npx" "esbuild src/viewer.js --bundle --format=iife --minify --log-level=warning --outfile=dist/viewer.js" dir

let dotnetBuild () =
    native ()
    viewer ()
    runOrFail "dotnet" "build Reconstruct.slnx -c Release -nologo -v q" root

/// Builds and runs the kernels' GoogleTests (references, gradchecks, invariances at the C++
/// level); returns (passed, failed) read from their XML report.
let nativeTests (results: string) =
    runOrFail "cmake" (sprintf "--build kernels/build --target rc_native_tests -j %d" Environment.ProcessorCount) root
    let exe = Path.Combine(root, "kernels", "build", "tests", "rc_native_tests")
    let xml = Path.Combine(results, "native.xml")
    let code = run exe (sprintf "--gtest_output=xml:%s" xml) root
    if not (File.Exists xml) then fail (sprintf "no native test results at %s (rc_native_tests exited %d)" xml code)
    let suites = (Xml.Linq.XDocument.Load xml).Root
    let count (name: string) = int (suites.Attribute(Xml.Linq.XName.Get name).Value)
    let total, failed = count "tests", count "failures" + count "errors"
    let ran = total - count "disabled"
    printfn "native: %d passed, %d failed" (ran - failed) failed
    ran - failed, (if code <> 0 && failed = 0 then 1 else failed)

let test () =
    dotnetBuild ()
    let results = Path.Combine(root, "artifacts", "test-results")
    if Directory.Exists results then Directory.Delete(results, true)
    Directory.CreateDirectory results |> ignore
    let nativePassed, nativeFailed = nativeTests results
    // The Expecto suite is a console app: its own runner, parallel except the tests marked
    // testSequenced; it writes a JUnit summary, which gives the counts.
    let junit = Path.Combine(results, "tests.xml")
    let args =
        [ Path.Combine(root, "tests", "bin", "Release", "net10.0", "Reconstruct.Tests.dll")
          "--junit-summary"
          junit ]
        @ (match Environment.GetEnvironmentVariable "TEST_FILTER" with
           | null | "" -> []
           | f -> [ "--filter"; f ])
        // No spinner or colour codes in a log file.
        @ (if Console.IsOutputRedirected then [ "--no-spinner"; "--colours"; "0" ] else [])
    let code =
        let psi = ProcessStartInfo("dotnet", WorkingDirectory = root, UseShellExecute = false)
        for a in args do
            psi.ArgumentList.Add a
        use p = Process.Start psi
        p.WaitForExit()
        p.ExitCode
    if not (File.Exists junit) then fail (sprintf "no test results at %s (the Expecto suite exited %d)" junit code)
    let cases = (Xml.Linq.XDocument.Load junit).Descendants(Xml.Linq.XName.Get "testcase") |> List.ofSeq
    let has (name: string) (case: Xml.Linq.XElement) = case.Element(Xml.Linq.XName.Get name) <> null
    let failed = cases |> List.filter (fun c -> has "failure" c || has "error" c) |> List.length
    let skipped = cases |> List.filter (has "skipped") |> List.length
    let passed = cases.Length - failed - skipped
    // A non-zero exit with no failed test (a crash after the summary, focused tests) still fails.
    let failed = if code <> 0 && failed = 0 then 1 else failed
    // Expecto ends on a colour reset without a newline.
    printfn ""
    printfn "expecto: %d passed, %d failed" passed failed
    let passed, failed = passed + nativePassed, failed + nativeFailed
    printfn "%d passed, %d failed" passed failed
    if failed > 0 || code <> 0 || passed = 0 then exit 1

let host (args: string) =
    dotnetBuild ()
    let dll = Path.Combine(root, "Reconstruct.Host", "bin", "Release", "net10.0", "reconstruct.dll")
    let code = run "dotnet" (sprintf "\"%s\" %s" dll args) root
    if code <> 0 then exit code

/// Arguments after `--` go to the command as they are; a space or quote inside one is kept by
/// quoting it again for the child's command line.
let quote (arg: string) =
    if arg <> "" && arg |> Seq.forall (fun c -> not (Char.IsWhiteSpace c) && c <> '"') then arg
    else "\"" + arg.Replace("\"", "\\\"") + "\""

/// Runs `experiments/<name>.fsx` with `dotnet fsi` after the build, passing `args` on. A script
/// that does not compile gets one line naming it and the first error, and exit code 2 (the
/// command line's code for bad input); otherwise the script's own exit code.
let experiment (args: string list) =
    let dir = Path.Combine(root, "experiments")
    let known () =
        Directory.GetFiles(dir, "*.fsx")
        |> Array.map Path.GetFileNameWithoutExtension
        |> Array.filter (fun n -> n <> "load")
        |> Array.sort
        |> fun names -> String.Join(", ", names)
    match args with
    | [] ->
        eprintfn "build.fsx: experiment: name the experiment (%s)" (known ())
        exit 2
    | name :: rest ->
        let script = if name.EndsWith ".fsx" then Path.GetFullPath name else Path.Combine(dir, name + ".fsx")
        if not (File.Exists script) then
            eprintfn "build.fsx: experiment: %s not found (experiments: %s)" script (known ())
            exit 2
        dotnetBuild ()
        let psi = ProcessStartInfo("dotnet", WorkingDirectory = root, UseShellExecute = false, RedirectStandardError = true)
        for a in [ "fsi"; "--quiet"; script ] @ rest do
            psi.ArgumentList.Add a
        use p = Process.Start psi
        // Compiler errors are collected to be reported as one line; anything else the script
        // writes to stderr passes through as it comes.
        let compileErrors = Collections.Generic.List<string>()
        p.ErrorDataReceived.Add(fun e ->
            if not (isNull e.Data) then
                if e.Data.Contains ": error FS" then lock compileErrors (fun () -> compileErrors.Add e.Data)
                else eprintfn "%s" e.Data)
        p.BeginErrorReadLine()
        p.WaitForExit()
        if compileErrors.Count > 0 then
            let first = compileErrors.[0].Trim()
            eprintfn "build.fsx: experiment %s does not compile: %s%s" (Path.GetRelativePath(root, script)) first
                (if compileErrors.Count > 1 then sprintf " (and %d more errors)" (compileErrors.Count - 1) else "")
            exit 2
        if p.ExitCode <> 0 then exit p.ExitCode

/// Each target: what it does, and how it runs given the arguments after `--`.
let targets: (string * string * (string list -> unit)) list =
    let noArgs name action =
        fun (args: string list) ->
            if not args.IsEmpty then fail (sprintf "target %s takes no arguments, received: %s" name (String.Join(" ", args)))
            action ()
    let hostWith (command: string) (fixedArgs: string list) =
        fun (args: string list) -> host (String.Join(" ", command :: fixedArgs @ List.map quote args))
    [ "setup", "install the Debian packages the native side needs (apt-get, as root)", noArgs "setup" setup
      "native", "build kernels/ (CMake against Debian's libtorch)", noArgs "native" native
      "viewer", "bundle the report's 3D viewer (viewer/dist/viewer.js: npm ci + esbuild)", noArgs "viewer" viewer
      "build", "native + viewer + the .NET solution (Release)", noArgs "build" dotnetBuild
      "test", "build + the native GoogleTests + the Expecto suite; ends with \"N passed, N failed\"; TEST_FILTER=<prefix> selects Expecto tests (\"Geometry\", \"Tensor.scopes\")", noArgs "test" test
      "bench", "build + benchmarks (`-- --only render`); artifacts/bench.json", hostWith "bench" [ "--out"; "artifacts/bench.json" ]
      "demo", "build + the main job on the built-in default", hostWith "demo" []
      "info", "build + `reconstruct info`", hostWith "info" []
      "data", "build + `reconstruct data` (`-- --procedural chair --count 50`)", hostWith "data" []
      "experiment", "build + run experiments/<name>.fsx (`experiment softras_chair`, `-- --resume`): trains, evaluates, writes experiments/results", experiment ]

let usage () =
    let lines = targets |> List.map (fun (name, what, _) -> sprintf "  %-10s %s" name what)
    "usage: dotnet fsi build.fsx <target> [-- arguments for the command]\ntargets:\n" + String.Join("\n", lines)

match fsi.CommandLineArgs |> Array.skip 1 |> List.ofArray with
| [] -> fail ("no target given\n" + usage ())
| [ "--help" ] | [ "-h" ] | [ "help" ] -> printfn "%s" (usage ())
| name :: rest ->
    // `dotnet fsi` consumes the first `--` itself, so what follows the target arrives here as is.
    let args = match rest with "--" :: args -> args | args -> args
    match targets |> List.tryFind (fun (n, _, _) -> n = name) with
    | Some (_, _, action) -> action args
    | None -> fail (sprintf "unknown target '%s'\n%s" name (usage ()))
