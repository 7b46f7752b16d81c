/// Meshes as binary glTF 2.0 (.glb), the format a web page's 3D viewer (three.js' GLTFLoader)
/// reads from one ArrayBuffer: the report embeds each mesh as one GLB, texture inside.
///
/// Written by hand rather than through a package: a GLB is a 12-byte header, a JSON chunk and
/// a binary chunk, and we write one fixed layout (one mesh, one material, at most one texture)
/// that a test reads back field by field; a .NET glTF package (SharpGLTF and the like) would
/// bring a general document model and its dependencies into the core library for that.
///
/// Frames agree, so nothing is converted: glTF's is right-handed, +Y up, an asset's front
/// facing +Z, front faces counter-clockwise, which are the object frame and the face winding
/// of ARCHITECTURE.md; and glTF's UV origin is the top-left corner of the image (v = 0 the TOP
/// row), which is UVMap's convention (unlike OBJ and PLY, where MeshIO flips v).
///
/// Layout: the UVs are per face corner (a seam corner has a different (u, v) in each face),
/// so the mesh is un-welded into 3F vertices, vertex 3f + k being corner k of face f, with
/// POSITION (float32, min/max as the spec requires), a flat NORMAL per face and TEXCOORD_0;
/// uint32 indices 0 .. 3F-1; bufferViews in that order, then the PNG, each starting at a
/// multiple of 4 bytes, and both chunks padded to 4 (JSON with spaces, BIN with zeros).
module Reconstruct.Geometry.Gltf

open Reconstruct.Torch

/// A textured mesh as GLB bytes. mesh: a batch of one (vertices (1, V, 3) float32 or float64,
/// faces (F, 3) int64, F ≥ 1) with UVs; texture: (3, Ht, Wt) float32 in [0, 1], row 0 at the
/// top, turned into PNG bytes by `encodePng` (the codec lives in the native library, a layer
/// above this one, so the caller passes it in) and embedded in the binary chunk.
///
/// The material is the texture as the object's appearance: KHR_materials_unlit (UNICORN's
/// texture is what the renderer shows, unlit; a lit viewer would shade it a second time),
/// with metallicFactor 0 and roughnessFactor 1 as the fallback for viewers that do not know
/// the extension (it is used, not required). doubleSided, because a predicted mesh can fold
/// and show its inside. The sampler repeats: at the texture seam u runs past 1 by up to one
/// face's width (see UVMap), which is meant to wrap around.
/// Raises ArgumentException (one line naming the argument) for anything else.
val glbBytes: encodePng: (Tensor -> byte[]) -> texture: Tensor -> mesh: Mesh -> byte[]

/// `glbBytes` written to `path` atomically (`Files.writeBytesAtomically`; FileWriteError when
/// it cannot be written).
val writeGlb: path: string -> encodePng: (Tensor -> byte[]) -> texture: Tensor -> mesh: Mesh -> unit

/// A mesh without a texture (UVs, if any, are not written) as GLB bytes: the same layout
/// without TEXCOORD_0 and image, a light grey material that is lit (metallicFactor 0,
/// roughnessFactor 1), since a shape of one flat colour shows nothing but its silhouette.
val untexturedGlbBytes: mesh: Mesh -> byte[]
