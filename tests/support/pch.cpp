// The translation unit that compiles tests/support/pch.hpp once for every test program.
