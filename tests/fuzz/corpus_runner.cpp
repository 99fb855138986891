// Plain driver for fuzz targets when no fuzzing engine is available: feeds every file of the
// given directories (or the given files) to LLVMFuzzerTestOneInput once. A crash or sanitizer
// report fails the ctest; an empty corpus is an error so a missing seed directory cannot pass.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {
int run_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  return 1;
}
}  // namespace

int main(int argc, char** argv) {
  int count = 0;
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path arg(argv[i]);
    if (std::filesystem::is_directory(arg)) {
      for (const auto& entry : std::filesystem::recursive_directory_iterator(arg)) {
        if (entry.is_regular_file()) count += run_file(entry.path());
      }
    } else if (std::filesystem::is_regular_file(arg)) {
      count += run_file(arg);
    } else {
      std::cerr << "no such corpus: " << arg << "\n";
      return 2;
    }
  }
  if (count == 0) {
    std::cerr << "empty corpus\n";
    return 2;
  }
  std::cout << "ran " << count << " inputs\n";
  return 0;
}
