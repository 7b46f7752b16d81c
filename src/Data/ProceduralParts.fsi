namespace Reconstruct.Data

/// What is painted on a part's swatch (its cell in the atlas).
[<RequireQualifiedAccess>]
type Pattern =
    | Solid
    /// Bands of the two colours across u (vertical bands) or across v (horizontal bands);
    /// counts across u are odd so the swatch mirrors onto itself.
    | Stripes of count: int * alongU: bool
    /// A count × count checkerboard, count odd.
    | Checks of count: int
    /// From the main colour at v = 0 to the accent colour at v = 1.
    | Gradient

/// One closed part of a procedural shape, in centimetres, before normalisation.
type Part =
    { Name: string
      /// V·3 values.
      Positions: float[]
      /// F·3 indices, counter-clockwise seen from outside; every edge is shared by exactly two
      /// faces of the part, in opposite directions (a closed, consistently oriented surface).
      Faces: int[]
      /// F·6 values, (u, v) in [0, 1] of the part's swatch per face corner.
      UVs: float[]
      /// RGB in [0, 1] (see `ProceduralAppearance`).
      Colour: float32 * float32 * float32
      Accent: float32 * float32 * float32
      Pattern: Pattern }

/// The closed parametric parts procedural shapes are assembled from (boxes and tapered boxes,
/// surfaces of revolution, tori) and the rigid transforms that place them. Every builder
/// returns a closed part oriented outwards, grey and solid until painted; sizes in centimetres,
/// +y up, front +z.
module ProceduralParts =

    /// Signed volume of a closed mesh (positive when its faces point outwards). positions:
    /// V·3 values; faces: F·3 indices.
    val signedVolume: positions: float[] -> faces: int[] -> float

    /// A hexahedron from 8 corners: bottom (y low) x0z0, x1z0, x1z1, x0z1, then the top in the
    /// same order. Boxes, tapered legs, sloped cabins and swept wings are all this.
    ///
    /// Each side shows the whole swatch, mapped from the corners' places in the unit cube so
    /// that mirroring in x mirrors the texture: sides facing ±x take (u, v) = (z, 1 - y), sides
    /// facing ±y (x, z), sides facing ±z (x, 1 - y). With a swatch symmetric under u -> 1 - u
    /// a part centred on x = 0 is then symmetric in texture as well as in shape.
    val hexahedron: name: string -> corners: float[][] -> Part

    /// An axis-aligned box from its centre and full sizes.
    val box: name: string -> cx: float * cy: float * cz: float -> sx: float * sy: float * sz: float -> Part

    /// A box whose top is a scaled copy of its bottom (legs that thin out, tapered bodies):
    /// bottom centre (cx, y0, cz), bottom and top sizes in x and z, height along +y.
    val taperedBox:
        name: string -> cx: float * y0: float * cz: float -> bx: float * bz: float -> tx: float * tz: float -> height: float -> Part

    /// A surface of revolution about the y axis: `profile` is (radius, height) from one pole
    /// (radius 0) to the other, `segments` points per ring at angles 2πk/n from +z (so the
    /// ring is symmetric in x). v runs along the profile; u runs from 0 at +z to 1 at -z and
    /// back (1 - |1 - 2k/n|), so the texture has no seam and mirrors with x.
    val revolve: name: string -> segments: int -> profile: (float * float)[] -> Part

    /// A closed cylinder (a frustum when the radii differ) along y from y0 to y0 + height.
    val cylinder: name: string -> segments: int -> bottomRadius: float -> topRadius: float -> y0: float -> height: float -> Part

    /// A torus about the y axis: `major` radius of the ring, `minor` of the tube.
    val torus: name: string -> majorSegments: int -> minorSegments: int -> major: float -> minor: float -> Part

    /// The part with `f` applied to every vertex (x, y, z); `f` must keep the orientation (a
    /// rotation, a translation, a positive scale).
    val mapPoints: f: (float * float * float -> float * float * float) -> part: Part -> Part

    /// Moves the part by (dx, dy, dz).
    val translate: dx: float * dy: float * dz: float -> (Part -> Part)

    /// Scales by positive factors (orientation kept).
    val scale: sx: float * sy: float * sz: float -> (Part -> Part)

    /// Rotation about x by `angle` radians (y towards z).
    val rotateX: angle: float -> (Part -> Part)

    /// Rotation about z by `angle` radians (x towards y).
    val rotateZ: angle: float -> (Part -> Part)

    /// The mirror image in the plane x = 0, faces rewound so they still point outwards.
    val mirrorX: part: Part -> Part

    /// The part and its mirror twin in x = 0 (names suffixed "right" and "left").
    val mirroredPair: part: Part -> Part list
