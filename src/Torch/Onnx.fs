module Reconstruct.Torch.Onnx

open System
open System.IO
open System.Runtime.InteropServices
open Google.Protobuf
open Reconstruct.Torch.Layers

exception OnnxError of path: string * problem: string
    with override this.Message = sprintf "onnx %s: %s" this.path this.problem

[<RequireQualifiedAccess>]
type Attribute =
    | Int of int64
    | Ints of int64 list
    | Float of float32
    | Other

type Node =
    { Name: string
      OpType: string
      Inputs: string list
      Outputs: string list
      Attributes: Map<string, Attribute> }

type Model =
    { Path: string
      Nodes: Node list
      Initializers: Named
      Inputs: string list
      Outputs: string list }

// onnx.TensorProto.DataType.FLOAT; onnx.TensorProto.DataLocation.EXTERNAL.
let private floatType = 1
let private externalLocation = 1

/// A parse error of the protobuf layer, turned into OnnxError by `read`.
exception private Malformed of string

/// Visits the fields of one message: `onField fieldNumber wireType input` must consume the field
/// (or call `SkipLastField`).
let private fields (bytes: ByteString) (onField: int -> WireFormat.WireType -> CodedInputStream -> unit) =
    let input = bytes.CreateCodedInput()
    let mutable tag = input.ReadTag()
    while tag <> 0u do
        onField (WireFormat.GetTagFieldNumber tag) (WireFormat.GetTagWireType tag) input
        tag <- input.ReadTag()

/// A repeated int64 field, packed (one length-delimited run) or not (one varint per entry).
let private readInt64s (wire: WireFormat.WireType) (input: CodedInputStream) (into: ResizeArray<int64>) =
    if wire = WireFormat.WireType.LengthDelimited then
        let packed = input.ReadBytes().CreateCodedInput()
        while not packed.IsAtEnd do
            into.Add(packed.ReadInt64())
    else into.Add(input.ReadInt64())

/// A repeated float field, packed (little-endian float32 run) or not (one fixed32 per entry).
let private readFloats (wire: WireFormat.WireType) (input: CodedInputStream) (into: ResizeArray<float32>) =
    if wire = WireFormat.WireType.LengthDelimited then
        into.AddRange(MemoryMarshal.Cast<byte, float32>(input.ReadBytes().Span).ToArray())
    else into.Add(input.ReadFloat())

let private attribute (bytes: ByteString) =
    let mutable name = ""
    let mutable value = Attribute.Other
    let ints = ResizeArray<int64>()
    fields bytes (fun field wire input ->
        match field with
        | 1 -> name <- input.ReadString()
        | 2 -> value <- Attribute.Float(input.ReadFloat())
        | 3 -> value <- Attribute.Int(input.ReadInt64())
        | 8 -> readInt64s wire input ints
        | _ -> input.SkipLastField())
    let value = if ints.Count > 0 then Attribute.Ints(List.ofSeq ints) else value
    name, value

let private node (bytes: ByteString) =
    let inputs = ResizeArray<string>()
    let outputs = ResizeArray<string>()
    let attributes = ResizeArray<string * Attribute>()
    let mutable name = ""
    let mutable opType = ""
    fields bytes (fun field _ input ->
        match field with
        | 1 -> inputs.Add(input.ReadString())
        | 2 -> outputs.Add(input.ReadString())
        | 3 -> name <- input.ReadString()
        | 4 -> opType <- input.ReadString()
        | 5 -> attributes.Add(attribute (input.ReadBytes()))
        | _ -> input.SkipLastField())
    { Name = name
      OpType = opType
      Inputs = List.ofSeq inputs
      Outputs = List.ofSeq outputs
      Attributes = Map.ofSeq attributes }

/// name, dims, values of a float32 TensorProto (float_data or raw_data).
let private tensorProto (bytes: ByteString) =
    let dims = ResizeArray<int64>()
    let floats = ResizeArray<float32>()
    let mutable raw: float32[] = null
    let mutable dataType = 0
    let mutable location = 0
    let mutable name = ""
    fields bytes (fun field wire input ->
        match field with
        | 1 -> readInt64s wire input dims
        | 2 -> dataType <- input.ReadInt32()
        | 4 -> readFloats wire input floats
        | 8 -> name <- input.ReadString()
        | 9 -> raw <- MemoryMarshal.Cast<byte, float32>(input.ReadBytes().Span).ToArray()
        | 14 -> location <- input.ReadEnum()
        | _ -> input.SkipLastField())
    if location = externalLocation then
        raise (Malformed(sprintf "initializer %s is stored as external data, which is not supported" name))
    if dataType <> floatType then
        raise (Malformed(sprintf "initializer %s has data type %d; only float32 (1) is supported" name dataType))
    let values = if isNull raw then floats.ToArray() else raw
    let numel = dims |> Seq.fold (*) 1L
    if numel <> int64 values.Length then
        raise (Malformed(sprintf "initializer %s has dims %A (%d values) but holds %d" name (List.ofSeq dims) numel values.Length))
    name, (dims |> Seq.map int |> Array.ofSeq), values

/// The name of a ValueInfoProto (graph input or output).
let private valueName (bytes: ByteString) =
    let mutable name = ""
    fields bytes (fun field _ input -> if field = 1 then name <- input.ReadString() else input.SkipLastField())
    name

let read (path: string) : Model =
    let fail problem = raise (OnnxError(path, problem))
    if not (File.Exists path) then fail "no such file"
    let bytes = ByteString.CopyFrom(File.ReadAllBytes path)
    let nodes = ResizeArray<Node>()
    let weights = ResizeArray<string * int[] * float32[]>()
    let inputs = ResizeArray<string>()
    let outputs = ResizeArray<string>()
    let mutable graphs = 0
    try
        fields bytes (fun field wire input ->
            if field = 7 && wire = WireFormat.WireType.LengthDelimited then
                graphs <- graphs + 1
                fields (input.ReadBytes()) (fun field _ graph ->
                    match field with
                    | 1 -> nodes.Add(node (graph.ReadBytes()))
                    | 5 -> weights.Add(tensorProto (graph.ReadBytes()))
                    | 11 -> inputs.Add(valueName (graph.ReadBytes()))
                    | 12 -> outputs.Add(valueName (graph.ReadBytes()))
                    | _ -> graph.SkipLastField())
            else input.SkipLastField())
    with
    | Malformed problem -> fail problem
    | :? OnnxError -> reraise ()
    // Arbitrary bytes can fail anywhere in the protobuf layer (truncated fields, wrong wire
    // types, absurd lengths): all of it means the file is not a model this can read.
    | e -> fail (sprintf "not an ONNX model (%s: %s)" (e.GetType().Name) (e.Message.Split('\n').[0].Trim()))
    if graphs <> 1 || nodes.Count = 0 || nodes |> Seq.exists (fun n -> n.OpType = "") then
        fail (sprintf "not an ONNX model (%d graphs, %d nodes, or a node without an operator)" graphs nodes.Count)
    let initializers =
        [ for name, dims, values in weights ->
              name, Tensor.ofArray (values, dims) ]
    { Path = path
      Nodes = List.ofSeq nodes
      Initializers = initializers
      Inputs = List.ofSeq inputs
      Outputs = List.ofSeq outputs }

let dispose (model: Model) = Named.dispose model.Initializers

let intAttribute (name: string) (fallback: int64) (node: Node) =
    match node.Attributes.TryFind name with
    | Some (Attribute.Int v) -> v
    | _ -> fallback

let intsAttribute (name: string) (fallback: int64 list) (node: Node) =
    match node.Attributes.TryFind name with
    | Some (Attribute.Ints v) -> v
    | _ -> fallback

let floatAttribute (name: string) (fallback: float32) (node: Node) =
    match node.Attributes.TryFind name with
    | Some (Attribute.Float v) -> v
    | _ -> fallback

let initializer (model: Model) (name: string) =
    match model.Initializers |> List.tryFind (fun (n, _) -> n = name) with
    | Some (_, t) -> t
    | None -> raise (OnnxError(model.Path, sprintf "no initializer named %s" name))
