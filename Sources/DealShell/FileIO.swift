import DealCore
import Foundation

#if canImport(Glibc)
  @preconcurrency import Glibc
#endif

/// Reading and writing files safely.
enum FileIO {
  /// Reads a whole text file, refusing files larger than `limit` bytes.
  static func read(_ path: String, limit: Int = SessionCodec.maxBytes) throws(DealError) -> String {
    var st = stat()
    guard stat(path, &st) == 0 else {
      throw DealError(.file, "cannot read '\(path)': \(String(cString: strerror(errno)))")
    }
    if (st.st_mode & S_IFMT) == S_IFDIR { throw DealError(.file, "'\(path)' is a folder, not a file") }
    if Int(st.st_size) > limit {
      throw DealError(.file, "'\(path)' is too large (\(st.st_size) bytes; the limit is \(limit >> 20) MiB)")
    }
    // One read loop for files and pipes alike (not a mapping: a file
    // truncated while mapped would crash the reader with SIGBUS); the limit
    // holds for a pipe too, whose size is not known in advance.
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw DealError(.file, "cannot read '\(path)': \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var bytes: [UInt8] = []
    bytes.reserveCapacity(Int(st.st_size) + 1)
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
      let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
      if n < 0 {
        if errno == EINTR { continue }
        throw DealError(.file, "cannot read '\(path)': \(String(cString: strerror(errno)))")
      }
      if n == 0 { break }
      bytes.append(contentsOf: chunk[0..<n])
      if bytes.count > limit { throw DealError(.file, "'\(path)' is too large (the limit is \(limit >> 20) MiB)") }
    }
    guard let text = String(validating: bytes, as: UTF8.self) else {
      throw DealError(.file, "cannot read '\(path)': not UTF-8 text")
    }
    return text
  }

  /// Writes `text` to `path` atomically: a temporary file in the same
  /// folder, fsync, rename over the target, fsync of the folder. A reader
  /// sees the old file or the new one, never a part.
  static func writeAtomically(_ bytes: [UInt8], to path: String) throws(DealError) {
    let result = bytes.withUnsafeBytes { buf -> Result<Void, DealError> in
      do throws(DealError) { return .success(try writeAtomically(buf, to: path)) } catch { return .failure(error) }
    }
    try result.get()
  }

  static func writeAtomically(_ bytes: UnsafeRawBufferPointer, to path: String) throws(DealError) {
    let dir = (path as NSString).deletingLastPathComponent
    let folder = dir.isEmpty ? "." : dir
    var isDir: ObjCBool = false
    if !FileManager.default.fileExists(atPath: folder, isDirectory: &isDir) {
      do { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) } catch {
        throw DealError(.file, "cannot create folder '\(folder)': \(error.localizedDescription)")
      }
    }
    let base = (path as NSString).lastPathComponent
    let tmp = folder + "/.\(base).tmp-\(getpid())"
    let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw DealError(.file, "cannot write '\(path)': \(String(cString: strerror(errno)))") }
    var ok = true
    var message = ""
    if let base = bytes.baseAddress {
      var off = 0
      while off < bytes.count {
        let n = write(fd, base + off, bytes.count - off)
        if n < 0 {
          if errno == EINTR { continue }
          ok = false
          message = String(cString: strerror(errno))
          break
        }
        off += n
      }
    }
    if ok && fsync(fd) != 0 { ok = false; message = String(cString: strerror(errno)) }
    close(fd)
    guard ok else {
      unlink(tmp)
      throw DealError(.file, "cannot write '\(path)': \(message)")
    }
    guard rename(tmp, path) == 0 else {
      let m = String(cString: strerror(errno))
      unlink(tmp)
      throw DealError(.file, "cannot write '\(path)': \(m)")
    }
    let dfd = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    if dfd >= 0 {
      fsync(dfd)
      close(dfd)
    }
  }

  /// What a file looked like when it was read or written, to tell later
  /// whether someone else changed it.
  struct DiskState: Equatable {
    var fingerprint: UInt64
    /// The `content_hash` of what was read or written (nil: none known).
    var contentHash: String? = nil
    var size: Int
    var inode: UInt64
    var mtimeSeconds: Int
    var mtimeNanoseconds: Int
  }

  /// The state of `path` now, given its content's fingerprint.
  static func diskState(_ path: String, fingerprint: UInt64, contentHash: String? = nil) -> DiskState? {
    var st = stat()
    guard stat(path, &st) == 0 else { return nil }
    return DiskState(
      fingerprint: fingerprint, contentHash: contentHash, size: Int(st.st_size), inode: UInt64(st.st_ino),
      mtimeSeconds: Int(st.st_mtim.tv_sec), mtimeNanoseconds: Int(st.st_mtim.tv_nsec))
  }

  /// The `content_hash` near the top of a session file's text.
  static func contentHash(in bytes: [UInt8]) -> String? {
    let head = bytes.prefix(4096)
    guard let r = String(decoding: head, as: UTF8.self).range(of: "\"content_hash\": \"") else { return nil }
    let h = String(decoding: head, as: UTF8.self)[r.upperBound...].prefix(SessionCodec.contentHashPrefix.count + 16)
    return h.count == SessionCodec.contentHashPrefix.count + 16 ? String(h) : nil
  }

  /// Whether `path` still holds what `known` describes: the same inode,
  /// size and modification time, else the same content.
  static func unchanged(_ path: String, since known: DiskState) -> Bool {
    var st = stat()
    guard stat(path, &st) == 0 else { return false }
    if UInt64(st.st_ino) == known.inode, Int(st.st_size) == known.size, Int(st.st_mtim.tv_sec) == known.mtimeSeconds,
      Int(st.st_mtim.tv_nsec) == known.mtimeNanoseconds
    {
      return true
    }
    guard let text = try? read(path) else { return false }
    return fingerprint(text) == known.fingerprint
  }

  /// A stable 64-bit fingerprint of a text's bytes (FNV-1a over 8-byte
  /// words, then over the tail): cheap enough for multi-megabyte files.
  static func fingerprint(_ text: String) -> UInt64 {
    var text = text
    return text.withUTF8 { fingerprint(UnsafeRawBufferPointer($0)) }
  }

  static func fingerprint(_ bytes: [UInt8]) -> UInt64 { bytes.withUnsafeBytes { fingerprint($0) } }

  static func fingerprint(_ raw: UnsafeRawBufferPointer) -> UInt64 {
    var h = SessionCodec.FNV64()
    h.add(raw)
    return h.value ^ UInt64(raw.count)
  }
}
