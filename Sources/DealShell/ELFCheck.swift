import DealCore

#if canImport(Glibc)
  @preconcurrency import Glibc
#endif

/// Checks that a shared library is a whole 64-bit ELF file before `dlopen`
/// maps it: every loadable segment and the dynamic section lie inside the
/// file. A truncated copy is refused with a message instead of crashing the
/// loader (it maps past the end of the file and faults with SIGBUS).
enum ELFCheck {
  static func validate(_ path: String) throws(DealError) {
    func refuse(_ why: String) -> DealError {
      DealError(.file, "cannot load '\(path)': \(why)", hint: "rebuild or copy the library again")
    }
    let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
    guard fd >= 0 else { throw refuse(String(cString: strerror(errno))) }
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0 else { throw refuse(String(cString: strerror(errno))) }
    guard st.st_mode & S_IFMT == S_IFREG else { throw refuse("it is \(FileIO.kindName(st.st_mode)), not a library file") }
    let size = UInt64(st.st_size)
    func bytes(_ offset: UInt64, _ count: Int) throws(DealError) -> [UInt8] {
      guard offset <= size, UInt64(count) <= size - offset else { throw refuse("the file is cut short (\(size) bytes): is it a complete copy?") }
      var b = [UInt8](repeating: 0, count: count)
      let n = b.withUnsafeMutableBytes { pread(fd, $0.baseAddress, count, off_t(offset)) }
      guard n == count else { throw refuse("cannot read it") }
      return b
    }
    func u16(_ b: [UInt8], _ i: Int) -> UInt64 { UInt64(b[i]) | UInt64(b[i + 1]) << 8 }
    func u32(_ b: [UInt8], _ i: Int) -> UInt64 { u16(b, i) | u16(b, i + 2) << 16 }
    func u64(_ b: [UInt8], _ i: Int) -> UInt64 { u32(b, i) | u32(b, i + 4) << 32 }
    let header = try bytes(0, 64)
    guard header[0] == 0x7F, header[1] == 0x45, header[2] == 0x4C, header[3] == 0x46 else { throw refuse("it is not an ELF shared library") }
    guard header[4] == 2, header[5] == 1 else { throw refuse("it is not a 64-bit little-endian library") }
    let phoff = u64(header, 32), phentsize = Int(u16(header, 54)), phnum = Int(u16(header, 56))
    guard phentsize >= 56, phnum > 0, phnum < 4096 else { throw refuse("its program headers are damaged") }
    let table = try bytes(phoff, phentsize * phnum)
    for k in 0..<phnum {
      let e = k * phentsize
      let type = u32(table, e), offset = u64(table, e + 8), fileSize = u64(table, e + 32)
      // PT_LOAD and PT_DYNAMIC are read by the loader.
      if type == 1 || type == 2 {
        guard offset <= size, fileSize <= size - offset else {
          throw refuse("the file is cut short (\(size) bytes, a segment ends at \(offset &+ fileSize)): is it a complete copy?")
        }
      }
    }
  }
}
