module Reconstruct.Torch.Shape

let text (shape: int[]) = "[" + (shape |> Array.map string |> String.concat ", ") + "]"

let text64 (shape: int64[]) = "[" + (shape |> Array.map string |> String.concat ", ") + "]"

let describe (dtype: Dtype) (shape: int[]) = sprintf "%s %s" (Dtype.name dtype) (text shape)

let expect (fn: string) (arg: string) (shape: int[]) (ranks: int list) (tail: int list) =
    let tailOk =
        shape.Length >= tail.Length
        && List.forall2 (fun (want: int) (got: int) -> want < 0 || want = got) tail (List.ofArray shape.[shape.Length - tail.Length ..])
    if not (List.contains shape.Length ranks) || not tailOk then
        let want = tail |> List.map (fun d -> if d < 0 then "*" else string d) |> String.concat ", "
        invalidArg arg (sprintf "%s: %s must have shape [..., %s] with rank in %A, received %s" fn arg want ranks (text shape))

let expectFaces (fn: string) (dtype: Dtype) (shape: int[]) =
    if shape.Length <> 2 || shape.[1] <> 3 || dtype <> Int64 then
        invalidArg "faces" (sprintf "%s: faces must be (F, 3) int64, received %s" fn (describe dtype shape))
