module Reconstruct.Tests.CheckpointTests

open System
open System.IO
open System.Text
open System.Text.Json
open System.Runtime.InteropServices
open Expecto
open Reconstruct.Torch
open Reconstruct.Tests.TestHelpers

/// The tensor's values as raw bytes, so comparisons are bit-exact (NaN payloads, -0.0).
let private rawBytes (t: Tensor) : byte[] =
    match t.Dtype with
    | Float32 -> MemoryMarshal.AsBytes(ReadOnlySpan(t.ToArray<float32>())).ToArray()
    | Float64 -> MemoryMarshal.AsBytes(ReadOnlySpan(t.ToArray<float>())).ToArray()
    | Float16 -> MemoryMarshal.AsBytes(ReadOnlySpan(t.ToArray<Half>())).ToArray()
    | Int64 -> MemoryMarshal.AsBytes(ReadOnlySpan(t.ToArray<int64>())).ToArray()
    | Int32 -> MemoryMarshal.AsBytes(ReadOnlySpan(t.ToArray<int32>())).ToArray()
    | UInt8 -> t.ToArray<byte>()
    | Bool -> t.ToArray<bool>() |> Array.map (fun b -> if b then 1uy else 0uy)

let private assertSameTensor (name: string) (expected: Tensor) (actual: Tensor) =
    Expect.isTrue (expected.Dtype = actual.Dtype) (sprintf "%s: dtype %A, expected %A" name actual.Dtype expected.Dtype)
    Expect.isTrue (expected.Shape = actual.Shape) (sprintf "%s: shape %A, expected %A" name actual.Shape expected.Shape)
    Expect.isTrue (rawBytes expected = rawBytes actual) (sprintf "%s: values differ" name)

/// Runs f, which must fail with a one-line CheckpointError naming `path` and containing `fragment`.
let private expectError (path: string) (fragment: string) (f: unit -> unit) =
    let e = Expect.catchAnyT<exn> (fun () -> f ()) "f ()"
    match e with
    | Checkpoint.CheckpointError _
    | Files.FileWriteError _ ->
        if not (e.Message.Contains path) then failwithf "error does not name the file %s: %s" path e.Message
        if not (e.Message.Contains fragment) then failwithf "expected %A in: %s" fragment e.Message
        if e.Message.Contains "\n" then failwithf "error is not one line: %s" e.Message
    | other -> failwithf "expected CheckpointError, got %s: %s" (other.GetType().Name) other.Message

/// A file laid out as the reference writer does: header length, header padded with spaces to a
/// multiple of 8, data.
let private buildFile (header: string) (data: byte[]) =
    let h = Encoding.UTF8.GetBytes header
    let padded = Array.append h (Array.create ((8 - h.Length % 8) % 8) (byte ' '))
    Array.concat [ BitConverter.GetBytes(uint64 padded.Length); padded; data ]

let private floatBytes (values: float32[]) = values |> Array.collect BitConverter.GetBytes

let private sampleTensors (g: Generator) =
    let weird = [| nanf; -0.0f; infinityf; -infinityf; Single.Epsilon; Single.MaxValue |]
    [ "enc.weight", Tensor.randn ([ 3; 4 ], g)
      "enc.bias", Tensor.randn ([ 4 ], g, Float64)
      "faces", Tensor.ofArray ([| Int64.MinValue; -1L; 0L; 1L; Int64.MaxValue; 42L |], [ 2; 3 ])
      "counts", Tensor.ofArray ([| Int32.MinValue; 7; Int32.MaxValue; 0 |], [ 2; 2 ])
      "mask", Tensor.ofArray [| true; false; false; true; true |]
      "bytes", Tensor.ofArray (Array.init 256 byte)
      "empty", Tensor.zeros [ 0; 3 ]
      "empty_long", Tensor.zeros ([ 0 ], Int64)
      "scalar", Tensor.scalar (Math.PI, Float64)
      "scalar_int", Tensor.scalar (-5.0, Int64)
      "scalar_bool", Tensor.scalar (1.0, Bool)
      "special", Tensor.ofArray weird
      // Non-contiguous: the file holds its values in row-major order.
      "transposed", (Tensor.arange (0.0, 6.0, 1.0, Float32)).reshape([ 2; 3 ]).transpose (0, 1) ]

let private validFile (dir: TempDir) =
    let path = dir.File "valid.safetensors"
    use scope = DisposalScope.Open()
    use g = generator 2
    Checkpoint.save path [ "w", Tensor.randn ([ 4; 4 ], g); "b", Tensor.randn ([ 4 ], g, Float64); "m", Tensor.ofArray [| true; false |] ] { Checkpoint.Metadata.empty with Step = 5L }
    path, File.ReadAllBytes path

// ------------------------------------------------------------------------------ training state

/// A small training run: linear regression on batches drawn from `data` each step, a running
/// mean of the loss as a buffer.
type private Run =
    { W: Tensor
      B: Tensor
      Running: Tensor
      Data: Generator
      Optimizer: Optim.Optimizer }

    member r.State : Checkpoint.TrainingState =
        { Parameters = [ "model.w", r.W; "model.b", r.B ]
          Buffers = [ "model.running_loss", r.Running ]
          Optimizer = Some r.Optimizer
          Generators = [ "data", r.Data ] }

let private newRun (makeOptimizer: (string * Tensor) list -> Optim.Optimizer) (initSeed: int) (dataSeed: int) =
    use init = generator initSeed
    let w, b = (Tensor.randn ([ 5 ], init)).RequireGrad(), (Tensor.randn ([ 1 ], init)).RequireGrad()
    { W = w; B = b; Running = Tensor.zeros []; Data = generator dataSeed; Optimizer = makeOptimizer [ "model.w", w; "model.b", b ] }

let private trainSteps (r: Run) (steps: int) =
    let wTrue = Tensor.ofArray [| 0.5f; -1.0f; 2.0f; 0.0f; 1.5f |]
    for _ in 1 .. steps do
        use scope = DisposalScope.Open()
        let x = Tensor.randn ([ 16; 5 ], r.Data)
        let y = x.matmul wTrue + 0.3 + 0.01 * Tensor.randn ([ 16 ], r.Data)
        let d = x.matmul r.W + r.B - y
        let loss = (d * d).mean ()
        r.Optimizer.ZeroGrad()
        loss.backward ()
        r.Optimizer.Step()
        use _ = Autograd.noGrad ()
        r.Running.mul_ 0.9
        r.Running.add_ (loss.detach (), 0.1)

let private disposeRun (r: Run) =
    (r.Optimizer :> IDisposable).Dispose()
    (r.Data :> IDisposable).Dispose()

let private resumeFromFileIsBitExact (makeOptimizer: (string * Tensor) list -> Optim.Optimizer) =
    use dir = new TempDir()
    use scope = DisposalScope.Open()
    let path = dir.File "train.safetensors"
    let a = newRun makeOptimizer 1 2
    trainSteps a 3
    let metadata = { Checkpoint.Metadata.empty with Pipeline = "test"; Config = """{"steps": 6}"""; Step = 3L }
    Checkpoint.saveTraining path a.State metadata
    trainSteps a 3
    // Fresh everything, different seeds: only the checkpoint makes it continue identically.
    let b = newRun makeOptimizer 10 20
    let restored = Checkpoint.restoreTraining path b.State
    Expect.equal restored.Step 3L "restored.Step"
    Expect.equal restored.Pipeline "test" "restored.Pipeline"
    Expect.equal (restored.Extra.TryFind "optimizer") (Some a.Optimizer.Algorithm) "restored.Extra.TryFind \"optimizer\""
    trainSteps b 3
    assertSameTensor "model.w" a.W b.W
    assertSameTensor "model.b" a.B b.B
    assertSameTensor "model.running_loss" a.Running b.Running
    // Restoring all but the data generator: different batches, different weights.
    let c = newRun makeOptimizer 10 20
    Checkpoint.restoreTraining path { c.State with Generators = [] } |> ignore
    trainSteps c 3
    Expect.notEqual (rawBytes c.W) (rawBytes a.W) "rawBytes c.W"
    for r in [ a; b; c ] do
        disposeRun r

[<Tests>]
let tests =
    testList "Checkpoint" [
        test "roundtrip_is_bit_exact_for_every_dtype_and_shape" {
            use dir = new TempDir()
            use scope = DisposalScope.Open()
            use g = generator 1
            let tensors = sampleTensors g
            let path = dir.File "all.safetensors"
            let metadata = { Checkpoint.Metadata.empty with Pipeline = "unicorn"; Config = """{"lr": 1e-4, "name": "chairs ≠ \"cars\""}"""; Step = 123456789012L; Extra = Map [ "note", "naïve <é> & \"quoted\"\nsecond line" ] }
            Checkpoint.save path tensors metadata
            use loaded = Checkpoint.load path
            Expect.equal (loaded.Tensors |> List.map fst |> List.sort) (tensors |> List.map fst |> List.sort) "loaded.Tensors |> List.map fst |> List.sort"
            for name, t in tensors do
                assertSameTensor name t (loaded.Find name)
            Expect.equal loaded.Metadata metadata "loaded.Metadata"
            Expect.equal (Checkpoint.readMetadata path) metadata "Checkpoint.readMetadata path"
            Expect.equal ((loaded.Find "transposed").ToFloat64s()) [| 0.0; 3.0; 1.0; 4.0; 2.0; 5.0 |] "(loaded.Find \"transposed\").ToFloat64s()"
        }

        test "file_layout_follows_the_safetensors_spec" {
            use dir = new TempDir()
            use scope = DisposalScope.Open()
            let path = dir.File "layout.safetensors"
            let a = Tensor.ofArray ([| 0.0f; 1.0f; 2.0f; 3.0f; 4.0f; 5.0f |], [ 1; 2; 3 ])
            let m = Tensor.ofArray [| true; false; true |]
            let i = Tensor.ofArray [| 7L; -8L |]
            Checkpoint.save path [ "mask", m; "attn.0", a; "idx", i ] { Checkpoint.Metadata.empty with Step = 9L }
            let bytes = File.ReadAllBytes path
            let n = BitConverter.ToUInt64(bytes, 0) |> int
            Expect.equal (n % 8) 0 "n % 8"
            Expect.equal bytes.[8] (byte '{') "bytes.[8]"
            let header = Encoding.UTF8.GetString(bytes, 8, n)
            Expect.isTrue (header.TrimEnd(' ').EndsWith "}") "the header is padded with spaces only"
            use doc = JsonDocument.Parse header
            let root = doc.RootElement
            let meta = root.GetProperty "__metadata__"
            Expect.equal (meta.GetProperty("format").GetString()) "pt" "meta.GetProperty(\"format\").GetString()"
            Expect.equal (meta.GetProperty("step").GetString()) "9" "meta.GetProperty(\"step\").GetString()"
            for p in meta.EnumerateObject() do
                Expect.equal p.Value.ValueKind JsonValueKind.String "p.Value.ValueKind"
            let info name =
                let e = root.GetProperty(name: string)
                let shape = [| for s in e.GetProperty("shape").EnumerateArray() -> s.GetInt64() |]
                let offsets = [| for s in e.GetProperty("data_offsets").EnumerateArray() -> s.GetInt64() |]
                e.GetProperty("dtype").GetString(), shape, offsets
            // Largest elements first, so each region is aligned to its element size.
            Expect.equal (info "idx") ("I64", [| 2L |], [| 0L; 16L |]) "info \"idx\""
            Expect.equal (info "attn.0") ("F32", [| 1L; 2L; 3L |], [| 16L; 40L |]) "info \"attn.0\""
            Expect.equal (info "mask") ("BOOL", [| 3L |], [| 40L; 43L |]) "info \"mask\""
            Expect.equal bytes.Length (8 + n + 43) "bytes.Length"
            let data = bytes.[8 + n ..]
            Expect.equal data.[0..15] (Array.append (BitConverter.GetBytes 7L) (BitConverter.GetBytes -8L)) "data.[0..15]"
            Expect.equal data.[16..39] (floatBytes [| 0.0f; 1.0f; 2.0f; 3.0f; 4.0f; 5.0f |]) "data.[16..39]"
            Expect.equal data.[40..42] [| 1uy; 0uy; 1uy |] "data.[40..42]"
            // The checksum is that of the data region, as Python's hashlib would compute it.
            Expect.equal (meta.GetProperty("data_sha256").GetString()) (Convert.ToHexStringLower(Security.Cryptography.SHA256.HashData data)) "meta.GetProperty(\"data_sha256\").GetString()"
        }

        test "reads_files_as_the_reference_writer_lays_them_out" {
            use dir = new TempDir()
            use scope = DisposalScope.Open()
            let path = dir.File "python.safetensors"
            // No metadata; keys in any order (the reader orders regions by offset).
            let header = """{"b":{"dtype":"I32","shape":[2],"data_offsets":[24,32]},"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}"""
            let data = Array.append (floatBytes [| 0.0f; 1.0f; 2.0f; 3.0f; 4.0f; 5.0f |]) (Array.append (BitConverter.GetBytes 3) (BitConverter.GetBytes -4))
            File.WriteAllBytes(path, buildFile header data)
            use loaded = Checkpoint.load path
            Expect.equal (loaded.Tensors |> List.map fst) [ "attn.0"; "b" ] "loaded.Tensors |> List.map fst"
            Expect.equal ((loaded.Find "attn.0").Shape) [| 1; 2; 3 |] "(loaded.Find \"attn.0\").Shape"
            Expect.equal ((loaded.Find "attn.0").ToArray<float32>()) [| 0.0f; 1.0f; 2.0f; 3.0f; 4.0f; 5.0f |] "(loaded.Find \"attn.0\").ToArray<float32>()"
            Expect.equal ((loaded.Find "b").ToArray<int32>()) [| 3; -4 |] "(loaded.Find \"b\").ToArray<int32>()"
            Expect.equal loaded.Metadata Checkpoint.Metadata.empty "loaded.Metadata"
            // The smallest file: no tensors.
            File.WriteAllBytes(path, buildFile "{}" [||])
            use empty = Checkpoint.load path
            Expect.isEmpty empty.Tensors "empty.Tensors"
        }

        test "metadata_is_validated_on_save" {
            use dir = new TempDir()
            use scope = DisposalScope.Open()
            let path = dir.File "m.safetensors"
            let t = [ "x", Tensor.zeros [ 2 ] ]
            Expect.throwsT<ArgumentException> (fun () -> Checkpoint.save path t { Checkpoint.Metadata.empty with Config = "{not json" }) "Checkpoint.save path t { Checkpoint.Metadata.empty with Config = \"{no..."
            Expect.throwsT<ArgumentException> (fun () -> Checkpoint.save path t { Checkpoint.Metadata.empty with Extra = Map [ "step", "3" ] }) "Checkpoint.save path t { Checkpoint.Metadata.empty with Extra = Map [..."
            Expect.throwsT<ArgumentException> (fun () -> Checkpoint.save path (t @ t) Checkpoint.Metadata.empty) "Checkpoint.save path (t @ t) Checkpoint.Metadata.empty"
            Expect.throwsT<ArgumentException> (fun () -> Checkpoint.save path [ "__metadata__", Tensor.zeros [ 1 ] ] Checkpoint.Metadata.empty) "Checkpoint.save path [ \"__metadata__\", Tensor.zeros [ 1 ] ] Checkpoin..."
            Expect.isEmpty (dir.Entries()) "dir.Entries()"
        }

        test "truncated_files_fail_naming_the_file" {
            use dir = new TempDir()
            let path, bytes = validFile dir
            let n = int (BitConverter.ToUInt64(bytes, 0))
            let cases =
                [ 0, "too short for the 8-byte header length (truncated?)"
                  5, "too short for the 8-byte header length (truncated?)"
                  8, "exceeds the file size 8 (truncated?)"
                  8 + n / 2, "exceeds the file size"
                  8 + n, "go past the end of the data (0 bytes; truncated?)"
                  bytes.Length - 1, "truncated?" ]
            for length, fragment in cases do
                File.WriteAllBytes(path, bytes.[.. length - 1])
                expectError path fragment (fun () -> Checkpoint.load path |> ignore)
            // Every truncation point fails (and the header-only reader fails too).
            for length in 0 .. bytes.Length - 1 do
                File.WriteAllBytes(path, bytes.[.. length - 1])
                expectError path "" (fun () -> Checkpoint.readMetadata path |> ignore)
            expectError (dir.File "missing.safetensors") "not found" (fun () -> Checkpoint.load (dir.File "missing.safetensors") |> ignore)
        }

        test "corrupted_headers_and_data_fail_naming_the_file" {
            use dir = new TempDir()
            let path, bytes = validFile dir
            let n = int (BitConverter.ToUInt64(bytes, 0))
            let withBytes (edits: (int * byte) list) =
                let b = Array.copy bytes
                for k, v in edits do
                    b.[k] <- v
                File.WriteAllBytes(path, b)
            withBytes [ 7, 0xFFuy ]
            expectError path "over the 100000000-byte limit" (fun () -> Checkpoint.load path |> ignore)
            withBytes [ 0, byte (n + 8) ]
            expectError path "" (fun () -> Checkpoint.load path |> ignore)
            withBytes [ 8, byte '[' ]
            expectError path "does not start with '{'" (fun () -> Checkpoint.load path |> ignore)
            let lastBrace = Array.FindLastIndex(bytes, 8 + n - 1, n, fun b -> b = byte '}')
            withBytes [ lastBrace, byte ' ' ]
            expectError path "not valid JSON" (fun () -> Checkpoint.load path |> ignore)
            // Any single header byte with its top bit flipped is caught (no longer UTF-8 text).
            for k in 8 .. 8 + n - 1 do
                withBytes [ k, bytes.[k] ^^^ 0x80uy ]
                expectError path "" (fun () -> Checkpoint.load path |> ignore)
            // A flipped data byte: the structure is intact, the checksum is not.
            withBytes [ 8 + n + 3, bytes.[8 + n + 3] ^^^ 0x01uy ]
            expectError path "checksum" (fun () -> Checkpoint.load path |> ignore)
        }

        test "inconsistent_offsets_fail_naming_the_file" {
            use dir = new TempDir()
            let path = dir.File "bad.safetensors"
            let f32 name shape (b: int) (e: int) = sprintf "\"%s\":{\"dtype\":\"F32\",\"shape\":%s,\"data_offsets\":[%d,%d]}" name shape b e
            let cases =
                [ "{" + f32 "a" "[12]" 0 48 + "}", 24, "go past the end of the data"
                  "{" + f32 "a" "[2,3]" 0 20 + "}", 20, "hold 20 bytes, but F32 [2, 3] needs 24"
                  "{" + f32 "a" "[4]" 0 16 + "," + f32 "b" "[4]" 8 24 + "}", 24, "overlaps"
                  "{" + f32 "a" "[2]" 0 8 + "," + f32 "b" "[2]" 16 24 + "}", 24, "belong to no tensor"
                  "{" + f32 "a" "[2]" 0 8 + "}", 12, "cover 8 data bytes but the file holds 12"
                  "{" + f32 "a" "[2]" 8 0 + "}", 8, "end before they begin"
                  "{" + f32 "a" "[-2]" 0 8 + "}", 8, "not a non-negative integer"
                  "{" + f32 "a" "[2]" 0 8 + "," + f32 "a" "[2]" 0 8 + "}", 8, "names 'a' twice"
                  """{"a":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}}""", 4, "dtype BF16 is not supported"
                  """{"a":{"dtype":"F32","shape":[2]}}""", 8, "no 'data_offsets'"
                  """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0]}}""", 8, "has 1 values, not 2"
                  """{"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}}""", 8, "overflows"
                  """{"__metadata__":{"step":"x"}}""", 0, "metadata 'step' is not a non-negative integer"
                  """{"__metadata__":{"step":3}}""", 0, "entry 'step' is not a string"
                  """{"__metadata__":{"config":"{oops"}}""", 0, "metadata 'config' is not valid JSON"
                  """{"__metadata__":{"data_sha256":"abc"}}""", 0, "not 64 hex digits"
                  """[1,2]""", 0, "does not start with '{'"
                  """{"a":[1]}""", 0, "entry is not a JSON object" ]
            for header, dataLength, fragment in cases do
                File.WriteAllBytes(path, buildFile header (Array.zeroCreate dataLength))
                expectError path fragment (fun () -> Checkpoint.load path |> ignore)
            File.WriteAllBytes(path, buildFile """{"m":{"dtype":"BOOL","shape":[3],"data_offsets":[0,3]}}""" [| 1uy; 2uy; 0uy |])
            expectError path "BOOL element 1 is byte 2" (fun () -> Checkpoint.load path |> ignore)
        }

        test "atomic_write_leaves_no_temporary_file_and_a_failure_keeps_the_old_file" {
            use dir = new TempDir()
            use scope = DisposalScope.Open()
            let path = dir.File "ckpt.safetensors"
            Checkpoint.save path [ "x", Tensor.ofArray [| 1.0f; 2.0f |] ] { Checkpoint.Metadata.empty with Step = 1L }
            Expect.equal (dir.Entries()) [| "ckpt.safetensors" |] "dir.Entries()"
            // Overwriting replaces the file, still without leftovers.
            Checkpoint.save path [ "x", Tensor.ofArray [| 3.0f; 4.0f; 5.0f |] ] { Checkpoint.Metadata.empty with Step = 2L }
            Expect.equal (dir.Entries()) [| "ckpt.safetensors" |] "dir.Entries()"
            let good = File.ReadAllBytes path
            // A write that fails half-way (e.g. a full disk) leaves the previous checkpoint intact.
            expectError path "cannot write: No space left on device" (fun () ->
                Files.writeAtomically path (fun stream ->
                    stream.Write(Array.create 100 0xEEuy, 0, 100)
                    raise (IOException "No space left on device")))
            // Any other failure too.
            Expect.throwsT<InvalidOperationException> (fun () ->
                Files.writeAtomically path (fun stream ->
                    stream.Write(Array.create 100 0xEEuy, 0, 100)
                    raise (InvalidOperationException "bug"))) "Files.writeAtomically path (fun stream -> stream.Write(Array.create 1..."
            Expect.equal (File.ReadAllBytes path) good "File.ReadAllBytes path"
            Expect.equal (dir.Entries()) [| "ckpt.safetensors" |] "dir.Entries()"
            use loaded = Checkpoint.load path
            Expect.equal loaded.Metadata.Step 2L "loaded.Metadata.Step"
            expectError (dir.File "no/such/dir/c.safetensors") "does not exist" (fun () ->
                Checkpoint.save (dir.File "no/such/dir/c.safetensors") [ "x", Tensor.zeros [ 1 ] ] Checkpoint.Metadata.empty)
        }

        test "withLock lets one holder in at a time, tells a second caller once that it waits, and names a path it cannot lock" {
            use dir = new TempDir()
            let path = dir.File "cache/.chair.lock"
            let events = Collections.Concurrent.ConcurrentQueue<string>()
            use entered = new Threading.ManualResetEventSlim()
            let first =
                Threading.Tasks.Task.Run(fun () ->
                    Files.withLock path ignore (fun () ->
                        events.Enqueue "first in"
                        entered.Set()
                        Threading.Thread.Sleep 700
                        events.Enqueue "first out"))
            entered.Wait()
            Files.withLock path (fun () -> events.Enqueue "second waits") (fun () -> events.Enqueue "second in")
            first.Wait()
            Expect.equal (List.ofSeq events) [ "first in"; "second waits"; "first out"; "second in" ] "the second runs after the first, having said it waits"
            let mutable waited = false
            Expect.equal (Files.withLock path (fun () -> waited <- true) (fun () -> 42)) 42 "returns the action's result"
            Expect.isFalse waited "a free lock is taken at once"
            expectError (dir.File "cache") "cannot lock" (fun () -> Files.withLock (dir.File "cache") ignore ignore)
        }

        test "generator_state_roundtrip_replays_the_same_numbers" {
            use scope = DisposalScope.Open()
            use g = generator 7
            Tensor.rand ([ 5 ], g) |> ignore
            let state = g.GetState()
            Expect.equal state.Dtype UInt8 "state.Dtype"
            let first = Tensor.randn ([ 10 ], g)
            use other = generator 99
            other.SetState state
            assertSameTensor "replayed" first (Tensor.randn ([ 10 ], other))
        }

        test "adam_training_resumed_from_a_checkpoint_is_bit_exact" {
            resumeFromFileIsBitExact (Optim.adam { Optim.Adam.Defaults with Lr = 0.01 })
        }

        test "sgd_momentum_training_resumed_from_a_checkpoint_is_bit_exact" {
            resumeFromFileIsBitExact (Optim.sgd { Optim.Sgd.Defaults with Lr = 0.01; Momentum = 0.9; Nesterov = true })
        }

        test "restore_checks_names_shapes_and_dtypes_and_changes_nothing_on_failure" {
            use dir = new TempDir()
            use scope = DisposalScope.Open()
            let path = dir.File "train.safetensors"
            let a = newRun (Optim.adam Optim.Adam.Defaults) 1 2
            trainSteps a 2
            Checkpoint.saveTraining path a.State { Checkpoint.Metadata.empty with Step = 2L }
            let model (parameters: (string * Tensor) list) = Checkpoint.TrainingState.model parameters
            let w4 = (Tensor.zeros [ 4 ]).RequireGrad()
            let w5 = (Tensor.zeros [ 5 ]).RequireGrad()
            let b1 = (Tensor.zeros [ 1 ]).RequireGrad()
            let running = Tensor.zeros []
            let buffers = [ "model.running_loss", running ]
            expectError path "tensor 'model.w' is float32 [5], the model expects float32 [4]" (fun () ->
                Checkpoint.restoreTraining path { model [ "model.w", w4; "model.b", b1 ] with Buffers = buffers } |> ignore)
            expectError path "tensor 'model.w' is float32 [5], the model expects float64 [5]" (fun () ->
                Checkpoint.restoreTraining path { model [ "model.w", (Tensor.zeros ([ 5 ], Float64)).RequireGrad(); "model.b", b1 ] with Buffers = buffers } |> ignore)
            expectError path "no tensor 'model.c'" (fun () ->
                Checkpoint.restoreTraining path { model [ "model.w", w5; "model.b", b1; "model.c", b1 ] with Buffers = buffers } |> ignore)
            expectError path "tensor 'model.running_loss' matches no parameter or buffer" (fun () ->
                Checkpoint.restoreTraining path (model [ "model.w", w5; "model.b", b1 ]) |> ignore)
            expectError path "no generator state 'rng.noise'" (fun () ->
                use noise = generator 3
                Checkpoint.restoreTraining path { model [ "model.w", w5; "model.b", b1 ] with Buffers = buffers; Generators = [ "noise", noise ] } |> ignore)
            use sgd = Optim.sgd Optim.Sgd.Defaults [ "model.w", w5; "model.b", b1 ]
            expectError path "saved with optimizer Adam, restoring into SGD" (fun () ->
                Checkpoint.restoreTraining path { model [ "model.w", w5; "model.b", b1 ] with Buffers = buffers; Optimizer = Some sgd } |> ignore)
            use adam = Optim.adam Optim.Adam.Defaults [ "model.w", w5 ]
            expectError path "unexpected tensor 'optim.model.b." (fun () ->
                Checkpoint.restoreTraining path { model [ "model.w", w5; "model.b", b1 ] with Buffers = buffers; Optimizer = Some adam } |> ignore)
            // None of the failed restores changed anything.
            for t in [ w5; b1; running ] do
                Expect.isTrue (t.ToFloat64s() |> Array.forall ((=) 0.0)) "a failed restore modified a tensor"
            Expect.equal (adam.State() |> List.map fst) [ "optim.lr" ] "adam.State() |> List.map fst"
            // The model alone (weights for inference) restores and ignores optimizer and generator state.
            Checkpoint.restoreTraining path { model [ "model.w", w5; "model.b", b1 ] with Buffers = buffers } |> ignore
            assertSameTensor "model.w" a.W w5
            Expect.isTrue (w5.RequiresGrad && w5.IsLeaf) "restored parameters stay trainable leaves"
            Expect.throwsT<ArgumentException> (fun () -> Checkpoint.saveTraining path (model [ "optim.x", w5 ]) Checkpoint.Metadata.empty) "Checkpoint.saveTraining path (model [ \"optim.x\", w5 ]) Checkpoint.Met..."
            disposeRun a
        }

        testSequenced <| test "save_and_restore_leave_no_live_tensors" {
            use dir = new TempDir()
            use scope = DisposalScope.Open()
            let path = dir.File "leak.safetensors"
            let a = newRun (Optim.adam Optim.Adam.Defaults) 1 2
            trainSteps a 1
            Checkpoint.saveTraining path a.State Checkpoint.Metadata.empty
            Checkpoint.restoreTraining path a.State |> ignore
            let before = settledLiveCount ()
            for _ in 1 .. 3 do
                Checkpoint.saveTraining path a.State Checkpoint.Metadata.empty
                Checkpoint.restoreTraining path a.State |> ignore
                (Checkpoint.load path :> IDisposable).Dispose()
            Expect.equal Tensor.LiveCount before "Tensor.LiveCount"
            disposeRun a
        }
    ]
