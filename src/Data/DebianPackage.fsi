/// The files of a Debian package in a cache folder, without installing it: `apt-get download`
/// (no root needed) and `dpkg-deb -x`. Needs both tools on the PATH.
module Reconstruct.Data.DebianPackage

/// The folder the files of `package` are extracted into, cacheDir/<package> (absolute), with
/// the package's tree below it (usr/share/...). When `isExtracted` says that folder is not
/// complete, the .deb is taken from cacheDir/debs, or downloaded there first (`log` says so,
/// with `downloadSize`, e.g. "about 120 MB"), and extracted into a temporary folder renamed at
/// the end, so an interrupted run leaves no half tree. A relative `cacheDir` is taken from the
/// current directory. Fails with a one-line message naming the command that failed.
val fetch: package: string -> downloadSize: string -> cacheDir: string -> isExtracted: (string -> bool) -> log: (string -> unit) -> string
