/// What every test relies on: tolerances per dtype, finite-difference gradient checks in
/// float64, the FsCheck settings of a property, and the few expectations Expecto lacks.
module Reconstruct.Tests.TestHelpers

open System
open System.Collections.Generic
open Expecto
open Reconstruct.Torch

/// Expectations beside Expecto's own (`Expect.equal`, `Expect.throwsT`, ...): the ones that hand
/// back a value, and the few xunit assertions Expecto has no counterpart for.
[<RequireQualifiedAccess>]
module Expect =
    let private thrown (f: unit -> unit) =
        try
            f ()
            None
        with e ->
            Some e

    /// f must throw exactly an 'E (not a subtype; as Expect.throwsT); returns the exception.
    let catchT<'E when 'E :> exn> (f: unit -> unit) (message: string) : 'E =
        match thrown f with
        | Some e when e.GetType() = typeof<'E> -> e :?> 'E
        | Some e ->
            failtestf "%s. Expected f to throw an exn of type %s, but one of type %s was thrown: %s"
                message typeof<'E>.FullName (e.GetType().FullName) e.Message
        | None -> failtestf "%s. Expected f to throw." message

    /// f must throw an 'E or a subtype of it; returns the exception.
    let catchAnyT<'E when 'E :> exn> (f: unit -> unit) (message: string) : 'E =
        match thrown f with
        | Some (:? 'E as e) -> e
        | Some e ->
            failtestf "%s. Expected f to throw an exn assignable to %s, but one of type %s was thrown: %s"
                message typeof<'E>.FullName (e.GetType().FullName) e.Message
        | None -> failtestf "%s. Expected f to throw." message

    /// The sequence has exactly one element; returns it.
    let single (actual: seq<'T>) (message: string) : 'T =
        match List.ofSeq actual with
        | [ x ] -> x
        | xs -> failtestf "%s. Expected exactly one element, found %d: %A" message xs.Length xs

    /// low <= actual <= high by the type's default comparer (so NaN is never in range).
    let isInRange (actual: 'T) (low: 'T) (high: 'T) (message: string) =
        let c = Comparer<'T>.Default
        if c.Compare(actual, low) < 0 || c.Compare(actual, high) > 0 then
            failtestf "%s. Expected %A to be in the range [%A, %A]." message actual low high

    /// actual and expected agree once both are rounded to `digits` decimal places (to even).
    /// Equal to `digits` decimal places: within half a unit of the last place. (Rounding both
    /// and comparing, as xunit's precision overload does, fails when two values a hair apart
    /// straddle a rounding boundary: 0.34995000 vs 0.34994999 at 4 places.)
    let inline equalRounded (digits: int) (actual: ^T) (expected: ^T) (message: string) =
        let a, e = float actual, float expected
        if not (abs (a - e) <= 0.5 * Math.Pow(10.0, float -digits)) then
            failtestf "%s. Expected %.17g, actual %.17g (to %d decimal places)." message e a digits

    let stringDoesNotContain (subject: string) (substring: string) (message: string) =
        if subject.Contains substring then
            failtestf "%s. Expected subject string '%s' not to contain substring '%s'." message subject substring

    let doesNotContain (sequence: seq<'T>) (element: 'T) (message: string) =
        if Seq.contains element sequence then
            failtestf "%s. Sequence contains %A, which it should not." message element

/// The process-wide live-tensor count once earlier tests' dropped tensors are finalized: read
/// as a test's baseline, so that a handle finalized later in the test cannot look like a
/// change (a collection can start at any allocation). Later readings stay plain, so a leak
/// the test makes still shows. Tests that read it run sequenced (testSequenced): Expecto runs
/// them one at a time after the parallel tests, so no other test's tensors come and go meanwhile.
let settledLiveCount () =
    for _ in 1..3 do
        GC.Collect()
        GC.WaitForPendingFinalizers()
    Tensor.LiveCount

/// Absolute/relative tolerances, one row per dtype.
let tolerance =
    function
    | Float64 -> 1e-9, 1e-7
    | _ -> 1e-5, 1e-4

/// Fails with both arrays when they differ beyond atol + rtol·|expected|.
let assertClose (atol: float) (rtol: float) (expected: float[]) (actual: float[]) =
    Expect.equal actual.Length expected.Length "number of values"
    let bad =
        Array.zip expected actual
        |> Array.indexed
        |> Array.filter (fun (_, (e, a)) -> not (abs (e - a) <= atol + rtol * abs e) || Double.IsNaN a <> Double.IsNaN e)
    if bad.Length > 0 then
        let k, (e, a) = bad.[0]
        failwithf "%d of %d values differ; first at %d: expected %.10g, actual %.10g" bad.Length expected.Length k e a

let assertTensorClose (expected: Tensor) (actual: Tensor) =
    Expect.equal actual.Shape expected.Shape "shape"
    let atol, rtol = tolerance actual.Dtype
    assertClose atol rtol (expected.ToFloat64s()) (actual.ToFloat64s())

/// Central finite differences of a scalar function of x (float64), one coordinate at a time.
let finiteDifference (f: Tensor -> Tensor) (x: Tensor) (eps: float) =
    let values = x.ToFloat64s()
    let shape = x.Shape
    Array.init values.Length (fun k ->
        let at delta =
            let v = Array.copy values
            v.[k] <- v.[k] + delta
            use scope = DisposalScope.Open()
            use _ = Autograd.noGrad ()
            (f (Tensor.ofArray (v, shape))).ToScalar()
        (at eps - at -eps) / (2.0 * eps))

/// Checks the autograd gradient of a scalar f at x (float64) against central differences.
let gradcheck (name: string) (f: Tensor -> Tensor) (x: Tensor) =
    if x.Dtype <> Float64 then failwithf "%s: gradcheck wants float64 input, received %A" name x.Dtype
    use scope = DisposalScope.Open()
    let analytic = (Autograd.grad f x).ToFloat64s()
    let numeric = finiteDifference f x 1e-6
    try assertClose 1e-6 1e-4 numeric analytic
    with e -> failwithf "%s: analytic gradient differs from finite differences: %s" name e.Message

/// FsCheck settings for testPropertyWithConfig: `maxTest` cases. A failure prints the case, the
/// seed and a line "etestPropertyWithConfig (seed, gamma, Some size) ..."; to replay it, use
/// `{ propertyConfig n with replay = Some (seed, gamma, Some size) }` as the test's config.
let propertyConfig (maxTest: int) =
    { FsCheckConfig.defaultConfig with maxTest = maxTest }

/// A fresh seeded generator for a test.
let generator (seed: int) = new Generator(uint64 seed)

/// The checkout: the first folder above the test assembly that holds Reconstruct.Core.fsproj
/// (tests that read the source tree start here).
let repoRoot () =
    let start = IO.Path.GetDirectoryName(Reflection.Assembly.GetExecutingAssembly().Location)
    let rec up (dir: IO.DirectoryInfo) =
        if isNull dir then failwithf "no folder above %s holds Reconstruct.Core.fsproj" start
        elif IO.File.Exists(IO.Path.Combine(dir.FullName, "Reconstruct.Core.fsproj")) then dir.FullName
        else up dir.Parent
    up (IO.DirectoryInfo start)

/// A fresh, empty directory under the system's temporary folder; the test deletes it.
let tempDir () = IO.Directory.CreateTempSubdirectory("reconstruct-tests-").FullName

/// A fresh directory shared by a test file's tests (a rendered cache), deleted when the test
/// process exits.
let processTempDir () =
    let dir = tempDir ()
    AppDomain.CurrentDomain.ProcessExit.Add(fun _ -> try IO.Directory.Delete(dir, true) with _ -> ())
    dir

/// A fresh directory, deleted with everything in it on disposal (`use dir = new TempDir()`).
type TempDir() =
    let path = tempDir ()
    member _.Path = path
    member _.File(name: string) = IO.Path.Combine(path, name)
    /// The names of the entries directly inside, sorted.
    member _.Entries() = IO.Directory.GetFileSystemEntries path |> Array.map IO.Path.GetFileName |> Array.sort
    interface IDisposable with
        member _.Dispose() = if IO.Directory.Exists path then IO.Directory.Delete(path, true)

/// Every file under `dir` with its bytes, by relative path in ordinal order: two folders are
/// the same to the byte when their snapshots are equal.
let snapshot (dir: string) =
    IO.Directory.GetFiles(dir, "*", IO.SearchOption.AllDirectories)
    |> Array.map (fun f -> IO.Path.GetRelativePath(dir, f), IO.File.ReadAllBytes f)
    |> Array.sortWith (fun (a, _) (b, _) -> String.CompareOrdinal(a, b))

/// What a run of the `reconstruct` host printed and returned.
type CliRun = { ExitCode: int; Stdout: string; Stderr: string }

let private hostDll () =
    let dll = IO.Path.Combine(repoRoot (), "Reconstruct.Host", "bin", "Release", "net10.0", "reconstruct.dll")
    if not (IO.File.Exists dll) then failwithf "%s not built (dotnet fsi build.fsx build)" dll
    dll

let private startCli (workingDir: string) (args: string list) =
    let psi = Diagnostics.ProcessStartInfo("dotnet", WorkingDirectory = workingDir, UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true)
    psi.ArgumentList.Add(hostDll ())
    for a in args do psi.ArgumentList.Add a
    // One thread each: CLI tests run beside the parallel tests on a 2-core machine.
    psi.Environment.["RECONSTRUCT_THREADS"] <- "1"
    Diagnostics.Process.Start psi

/// Runs the host with `args` in `workingDir` and waits (at most `timeoutSeconds`, then fails).
let runCliIn (workingDir: string) (timeoutSeconds: int) (args: string list) : CliRun =
    use p = startCli workingDir args
    let out = p.StandardOutput.ReadToEndAsync()
    let err = p.StandardError.ReadToEndAsync()
    if not (p.WaitForExit(timeoutSeconds * 1000)) then
        p.Kill true
        failwithf "reconstruct %s did not finish in %d s" (String.Join(" ", args)) timeoutSeconds
    p.WaitForExit()
    { ExitCode = p.ExitCode; Stdout = out.Result; Stderr = err.Result }

/// Runs the host with `args` in a temporary folder's parent (the current directory does not
/// matter for the command) and waits at most 120 s.
let runCli (args: string list) = runCliIn (IO.Path.GetTempPath()) 120 args

/// Starts the host, sends it `signal` ("INT" as Ctrl+C, "TERM") once its stdout has printed a
/// line containing `marker`, and waits for it to end (at most `timeoutSeconds` in all).
let runCliSignalled (signal: string) (workingDir: string) (timeoutSeconds: int) (marker: string) (args: string list) : CliRun =
    use p = startCli workingDir args
    let out = Text.StringBuilder()
    let seen = new Threading.ManualResetEventSlim(false)
    p.OutputDataReceived.Add(fun e ->
        if not (isNull e.Data) then
            lock out (fun () -> out.AppendLine e.Data |> ignore)
            if e.Data.Contains marker then seen.Set())
    p.BeginOutputReadLine()
    let err = p.StandardError.ReadToEndAsync()
    if not (seen.Wait(timeoutSeconds * 1000)) then
        p.Kill true
        failwithf "reconstruct %s never printed %A: %s" (String.Join(" ", args)) marker (lock out (fun () -> out.ToString()))
    use kill = Diagnostics.Process.Start("kill", sprintf "-%s %d" signal p.Id)
    kill.WaitForExit()
    if not (p.WaitForExit(timeoutSeconds * 1000)) then
        p.Kill true
        failwithf "reconstruct %s did not stop after SIG%s" (String.Join(" ", args)) signal
    p.WaitForExit()
    { ExitCode = p.ExitCode; Stdout = lock out (fun () -> out.ToString()); Stderr = err.Result }

/// `runCliSignalled "INT"`: Ctrl+C.
let runCliInterrupted (workingDir: string) (timeoutSeconds: int) (marker: string) (args: string list) : CliRun =
    runCliSignalled "INT" workingDir timeoutSeconds marker args

/// The loss terms of every step of a run folder's metrics.jsonl, as written (the lines'
/// timings differ between runs).
let runLosses (runDir: string) =
    IO.File.ReadAllLines(IO.Path.Combine(runDir, "metrics.jsonl"))
    |> Array.filter (fun l -> l.Contains "\"loss\"")
    |> Array.map (fun l ->
        use row = Text.Json.JsonDocument.Parse l
        row.RootElement.GetProperty("loss").GetRawText())

/// Expects the two runs' last checkpoints to hold the same tensors, bit for bit: float32 as
/// their bits (weights, Adam's moments), anything else (generator states, uint8 images) as values.
let expectSameLastCheckpoint (expectedRun: string) (actualRun: string) =
    use a = Checkpoint.load (IO.Path.Combine(expectedRun, "checkpoints", "last.safetensors"))
    use b = Checkpoint.load (IO.Path.Combine(actualRun, "checkpoints", "last.safetensors"))
    Expect.equal (List.map fst b.Tensors) (List.map fst a.Tensors) "the same tensors"
    let bits (t: Tensor) =
        if t.Dtype = Dtype.Float32 then t.ToArray<float32>() |> Array.map (BitConverter.SingleToInt32Bits >> int64)
        else t.ToFloat64s() |> Array.map BitConverter.DoubleToInt64Bits
    for (name, x), (_, y) in List.zip a.Tensors b.Tensors do
        Expect.equal (bits y) (bits x) (sprintf "%s equal bitwise" name)

/// The CLI's exact resume: `args out iterations` (a command line of one thread that trains into
/// `out`) runs straight to 4 iterations in <dir>/straight and to 2 in <dir>/split, `train
/// --resume` takes split on to 4; every exit code is 0, every loss of every step and the last
/// checkpoints are equal bitwise. Returns (straight, split) for the caller's own checks.
let expectResumeEqualsStraight (dir: TempDir) (args: string -> int -> string list) =
    let straight, split = dir.File "straight", dir.File "split"
    for out, iterations in [ straight, 4; split, 2 ] do
        let run = runCliIn dir.Path 600 (args out iterations)
        Expect.equal run.ExitCode 0 (sprintf "%s: exit code (stderr: %s)" out run.Stderr)
    let resumed = runCliIn dir.Path 600 [ "--threads"; "1"; "train"; "--resume"; split; "--iterations"; "4" ]
    Expect.equal resumed.ExitCode 0 (sprintf "resume: exit code (stderr: %s)" resumed.Stderr)
    Expect.equal (runLosses split) (runLosses straight) "every loss of every step"
    expectSameLastCheckpoint straight split
    straight, split

// ---------------------------------------------------------------------- PNG files by hand

// Written here, not by the project's encoder, so decoder tests have an oracle independent of it.
let private crcTable =
    Array.init 256 (fun n ->
        let mutable c = uint32 n
        for _ in 1 .. 8 do
            c <- if c &&& 1u <> 0u then 0xEDB88320u ^^^ (c >>> 1) else c >>> 1
        c)

let private crc32 (data: byte[]) =
    let mutable c = 0xFFFFFFFFu
    for b in data do
        c <- crcTable.[int ((c ^^^ uint32 b) &&& 0xFFu)] ^^^ (c >>> 8)
    c ^^^ 0xFFFFFFFFu

let private bigEndian (v: uint32) = [| byte (v >>> 24); byte (v >>> 16); byte (v >>> 8); byte v |]

let private chunk (kind: string) (data: byte[]) =
    let typed = Array.append (Text.Encoding.ASCII.GetBytes kind) data
    Array.concat [ bigEndian (uint32 data.Length); typed; bigEndian (crc32 typed) ]

let private zlib (data: byte[]) =
    use ms = new IO.MemoryStream()
    do
        use z = new IO.Compression.ZLibStream(ms, IO.Compression.CompressionLevel.Optimal)
        z.Write(data, 0, data.Length)
    ms.ToArray()

/// A PNG written by hand: colour type 0 grey, 2 RGB, 4 grey + alpha, 6 RGBA; `samples` row-major
/// interleaved, each 0..255 (bits 8) or 0..65535 (bits 16, stored big-endian); filter 0 per row.
let pngOf (width: int) (height: int) (colorType: byte) (bits: int) (samples: int[]) =
    let channels = match colorType with 0uy -> 1 | 2uy -> 3 | 4uy -> 2 | _ -> 4
    let bytesPer = bits / 8
    let raw =
        [| for y in 0 .. height - 1 do
               yield 0uy
               for k in 0 .. width * channels - 1 do
                   let v = samples.[y * width * channels + k]
                   if bytesPer = 2 then
                       yield byte (v >>> 8)
                       yield byte v
                   else yield byte v |]
    let ihdr = Array.concat [ bigEndian (uint32 width); bigEndian (uint32 height); [| byte bits; colorType; 0uy; 0uy; 0uy |] ]
    Array.concat
        [ [| 0x89uy; 0x50uy; 0x4Euy; 0x47uy; 0x0Duy; 0x0Auy; 0x1Auy; 0x0Auy |]
          chunk "IHDR" ihdr
          chunk "IDAT" (zlib raw)
          chunk "IEND" [||] ]

/// Only a PNG's signature and IHDR: enough for a header check of a (width, height) RGB image.
let pngHeader (width: int) (height: int) =
    let ihdr = Array.concat [ bigEndian (uint32 width); bigEndian (uint32 height); [| 8uy; 2uy; 0uy; 0uy; 0uy |] ]
    Array.append [| 0x89uy; 0x50uy; 0x4Euy; 0x47uy; 0x0Duy; 0x0Auy; 0x1Auy; 0x0Auy |] (chunk "IHDR" ihdr)
