module Reconstruct.Geometry.Voxels

open System
open System.Collections.Generic
open Reconstruct.Torch

let centres (n: int) (lo: float) (hi: float) =
    let h = (hi - lo) / float n
    Array.init n (fun i -> lo + (float i + 0.5) * h)

let private checkGrid (fn: string) (n: int) (lo: float) (hi: float) =
    if n <= 0 then invalidArg "resolution" (sprintf "%s: resolution must be positive, received %d" fn n)
    if not (hi > lo) then invalidArg "hi" (sprintf "%s: bounds must satisfy lo < hi, received [%g, %g]" fn lo hi)

let private checkFaces (fn: string) (vertices: float[][]) (faces: int[][]) =
    faces
    |> Array.iteri (fun fi f ->
        if f.Length <> 3 then invalidArg "faces" (sprintf "%s: face %d has %d corners, expected 3" fn fi f.Length)
        for k in f do
            if k < 0 || k >= vertices.Length then
                invalidArg "faces" (sprintf "%s: face %d uses vertex %d, out of range for %d vertices" fn fi k vertices.Length))

/// Where the surface crosses each column of voxel centres along `axis`: per column i·n + j
/// (i along the axis after `axis`, j along the one after that), the depths of the crossings
/// (null when none), unsorted. Each crossing is counted once per surface sheet (see the
/// module comment).
let private columnHits (axis: int) (n: int) (lo: float) (hi: float) (vertices: float[][]) (faces: int[][]) : List<float>[] =
    let p, q = (axis + 1) % 3, (axis + 2) % 3
    let c = centres n lo hi
    let h = (hi - lo) / float n
    let hits = Array.init (n * n) (fun _ -> null: List<float>)
    let px = Array.zeroCreate<float> 3
    let py = Array.zeroCreate<float> 3
    let depth = Array.zeroCreate<float> 3
    // Per edge k (opposite corner k): canonical start A, direction, orientation sign, claim flag.
    let ax = Array.zeroCreate<float> 3
    let ay = Array.zeroCreate<float> 3
    let dx = Array.zeroCreate<float> 3
    let dy = Array.zeroCreate<float> 3
    let sigma = Array.zeroCreate<float> 3
    let claims = Array.zeroCreate<bool> 3
    let edgeValue k (x: float) (y: float) = dx.[k] * (y - ay.[k]) - dy.[k] * (x - ax.[k])
    let columnRange (lo2: float) (hi2: float) =
        let first = int (Math.Ceiling((lo2 - lo) / h - 0.5))
        let last = int (Math.Floor((hi2 - lo) / h - 0.5))
        max first 0, min last (n - 1)
    for fi in 0 .. faces.Length - 1 do
        let f = faces.[fi]
        for k in 0 .. 2 do
            let v = vertices.[f.[k]]
            px.[k] <- v.[p]
            py.[k] <- v.[q]
            depth.[k] <- v.[axis]
        let mutable valid = true
        for k in 0 .. 2 do
            let i, j = (k + 1) % 3, (k + 2) % 3
            // Canonical order of the edge's endpoints, by projected position only, so duplicate
            // (unwelded) vertices behave like shared ones.
            let first = if px.[i] < px.[j] || (px.[i] = px.[j] && py.[i] <= py.[j]) then i else j
            let second = if first = i then j else i
            ax.[k] <- px.[first]
            ay.[k] <- py.[first]
            dx.[k] <- px.[second] - px.[first]
            dy.[k] <- py.[second] - py.[first]
            let s = edgeValue k px.[k] py.[k]
            if s = 0.0 || Double.IsNaN s then valid <- false
            sigma.[k] <- float (sign s)
            // Inward normal σ·(-dy, dx).
            let nx, ny = -sigma.[k] * dy.[k], sigma.[k] * dx.[k]
            claims.[k] <- nx > 0.0 || (nx = 0.0 && ny > 0.0)
        if valid then
            let i0, i1 = columnRange (Array.min px) (Array.max px)
            let j0, j1 = columnRange (Array.min py) (Array.max py)
            for i in i0 .. i1 do
                for j in j0 .. j1 do
                    let x, y = c.[i], c.[j]
                    let w0 = sigma.[0] * edgeValue 0 x y
                    let w1 = sigma.[1] * edgeValue 1 x y
                    let w2 = sigma.[2] * edgeValue 2 x y
                    let inside (w: float) k = w > 0.0 || (w = 0.0 && claims.[k])
                    if inside w0 0 && inside w1 1 && inside w2 2 then
                        let total = w0 + w1 + w2
                        let d = (w0 * depth.[0] + w1 * depth.[1] + w2 * depth.[2]) / total
                        let col = i * n + j
                        if isNull hits.[col] then hits.[col] <- List<float>()
                        hits.[col].Add d
    hits

let occupancyAlong (axis: int) (n: int) (lo: float) (hi: float) (vertices: float[][]) (faces: int[][]) : bool[] =
    checkGrid "Voxels.occupancyAlong" n lo hi
    if axis < 0 || axis > 2 then invalidArg "axis" (sprintf "Voxels.occupancyAlong: axis must be 0, 1 or 2, received %d" axis)
    checkFaces "Voxels.occupancyAlong" vertices faces
    let p, q = (axis + 1) % 3, (axis + 2) % 3
    let c = centres n lo hi
    let hits = columnHits axis n lo hi vertices faces
    let occupied = Array.zeroCreate<bool> (n * n * n)
    for i in 0 .. n - 1 do
        for j in 0 .. n - 1 do
            let list = hits.[i * n + j]
            if not (isNull list) then
                list.Sort()
                let mutable crossed = 0
                for k in 0 .. n - 1 do
                    while crossed < list.Count && list.[crossed] < c.[k] do
                        crossed <- crossed + 1
                    if crossed % 2 = 1 then
                        // Voxel index: coordinate `axis` is k, coordinate p is i, coordinate q is j.
                        let idx = Array.zeroCreate<int> 3
                        idx.[axis] <- k
                        idx.[p] <- i
                        idx.[q] <- j
                        occupied.[(idx.[0] * n + idx.[1]) * n + idx.[2]] <- true
    occupied

let occupancy (n: int) (lo: float) (hi: float) (vertices: float[][]) (faces: int[][]) : bool[] =
    let a = occupancyAlong 0 n lo hi vertices faces
    let b = occupancyAlong 1 n lo hi vertices faces
    let c = occupancyAlong 2 n lo hi vertices faces
    Array.init a.Length (fun k -> (if a.[k] then 1 else 0) + (if b.[k] then 1 else 0) + (if c.[k] then 1 else 0) >= 2)

/// The voxel whose cell [lo + k h, lo + (k + 1) h) holds `x`, the last cell closed; -1 outside.
let private cellOf (n: int) (lo: float) (hi: float) (x: float) =
    if not (x >= lo && x <= hi) then -1
    else min (n - 1) (int (Math.Floor((x - lo) / (hi - lo) * float n)))

let surface (n: int) (lo: float) (hi: float) (vertices: float[][]) (faces: int[][]) : bool[] =
    checkGrid "Voxels.surface" n lo hi
    checkFaces "Voxels.surface" vertices faces
    let marked = Array.zeroCreate<bool> (n * n * n)
    let idx = Array.zeroCreate<int> 3
    for axis in 0 .. 2 do
        let p, q = (axis + 1) % 3, (axis + 2) % 3
        let hits = columnHits axis n lo hi vertices faces
        for i in 0 .. n - 1 do
            for j in 0 .. n - 1 do
                let list = hits.[i * n + j]
                if not (isNull list) then
                    let mark k =
                        idx.[axis] <- k
                        idx.[p] <- i
                        idx.[q] <- j
                        marked.[(idx.[0] * n + idx.[1]) * n + idx.[2]] <- true
                    let mutable below = 0
                    let mutable above = 0
                    for d in list do
                        let k = cellOf n lo hi d
                        if k >= 0 then mark k
                        elif d < lo then below <- below + 1
                        elif d > hi then above <- above + 1
                    // The column leaves the grid inside the mesh: the cut is closed there.
                    if below % 2 = 1 then mark 0
                    if above % 2 = 1 then mark (n - 1)
    // Corners of faces too small or too thin to cover a voxel centre in any direction.
    for f in faces do
        for corner in f do
            let v = vertices.[corner]
            let a, b, c = cellOf n lo hi v.[0], cellOf n lo hi v.[1], cellOf n lo hi v.[2]
            if a >= 0 && b >= 0 && c >= 0 then marked.[(a * n + b) * n + c] <- true
    marked

let fillFromBorder (n: int) (walls: bool[]) : bool[] =
    if n <= 0 then invalidArg "n" (sprintf "Voxels.fillFromBorder: n must be positive, received %d" n)
    if walls.Length <> n * n * n then
        invalidArg "walls" (sprintf "Voxels.fillFromBorder: %d voxels for n = %d, expected %d" walls.Length n (n * n * n))
    let outside = Array.zeroCreate<bool> walls.Length
    let stack = Stack<int>()
    let visit k =
        if not walls.[k] && not outside.[k] then
            outside.[k] <- true
            stack.Push k
    for i in 0 .. n - 1 do
        for j in 0 .. n - 1 do
            for k in 0 .. n - 1 do
                if i = 0 || j = 0 || k = 0 || i = n - 1 || j = n - 1 || k = n - 1 then visit ((i * n + j) * n + k)
    while stack.Count > 0 do
        let v = stack.Pop()
        let i, j, k = v / (n * n), (v / n) % n, v % n
        if i > 0 then visit (v - n * n)
        if i < n - 1 then visit (v + n * n)
        if j > 0 then visit (v - n)
        if j < n - 1 then visit (v + n)
        if k > 0 then visit (v - 1)
        if k < n - 1 then visit (v + 1)
    Array.map not outside

let solid (n: int) (lo: float) (hi: float) (vertices: float[][]) (faces: int[][]) : bool[] =
    fillFromBorder n (surface n lo hi vertices faces)

let private hostMesh (fn: string) (vertices: Tensor) (faces: Tensor) =
    Shape.expectFaces fn faces.Dtype faces.Shape
    let v =
        match vertices.Shape with
        | [| _; 3 |]
        | [| 1; _; 3 |] -> Scoped.host64 vertices
        | s -> invalidArg "vertices" (sprintf "%s: vertices must be (V, 3) or (1, V, 3), received %s" fn (Shape.text s))
    let nv = v.Length / 3
    let f = Scoped.hostInt64 faces
    let tris =
        Array.init (f.Length / 3) (fun i ->
            let t = [| int f.[3 * i]; int f.[3 * i + 1]; int f.[3 * i + 2] |]
            for k in t do
                if k < 0 || k >= nv then invalidArg "faces" (sprintf "%s: face %d uses vertex %d, out of range for %d vertices" fn i k nv)
            t)
    Array.init nv (fun i -> [| v.[3 * i]; v.[3 * i + 1]; v.[3 * i + 2] |]), tris

let voxelize (resolution: int) (lo: float) (hi: float) (vertices: Tensor) (faces: Tensor) =
    checkGrid "Voxels.voxelize" resolution lo hi
    let v, f = hostMesh "Voxels.voxelize" vertices faces
    Tensor.ofArray (occupancy resolution lo hi v f, [ resolution; resolution; resolution ])

let voxelizeAlong (axis: int) (resolution: int) (lo: float) (hi: float) (vertices: Tensor) (faces: Tensor) =
    let v, f = hostMesh "Voxels.voxelizeAlong" vertices faces
    Tensor.ofArray (occupancyAlong axis resolution lo hi v f, [ resolution; resolution; resolution ])

let voxelizeSolid (resolution: int) (lo: float) (hi: float) (vertices: Tensor) (faces: Tensor) =
    checkGrid "Voxels.voxelizeSolid" resolution lo hi
    let v, f = hostMesh "Voxels.voxelizeSolid" vertices faces
    Tensor.ofArray (solid resolution lo hi v f, [ resolution; resolution; resolution ])
