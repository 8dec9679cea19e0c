// The one place that names the Catch2 version: a move to Catch2 v3 edits only this file.
#pragma once
#include <catch2/catch.hpp>
