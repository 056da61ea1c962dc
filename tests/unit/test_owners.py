"""Owners from the linker, unit by unit: the archives' nm lines, a type's declaring package,
and the share-out's check that members never exceed the bytes no symbol covers."""

from __future__ import annotations

import msgspec

from buildopt.binary.attribution import BUCKETS
from buildopt.binary.facts import Attribution, Bucket, PackageShare
from buildopt.binary.go.dumpdep import parse
from buildopt.binary.go.objsizes import ObjectSymbols
from buildopt.binary.owners import declared_package, hidden_members, slot, with_linker_owners

NM = [
    "/c/43/x-d:\t     9ae       1498 ? go:constinfo.internal/goarch",
    '/c/43/x-d:\t  74b572          7 R go:string." %v=%v,"',
    "/c/c0/y-d(_go_.o):\t   e2261         16 r net/http..stmp_10<1>",
    "/c/c0/y-d(_go_.o):\t   c7ee0        432 d net/http..stmp_0<1>",
    "/c/c0/y-d(_go_.o):\t                  0 U go:info.int",
    "/c/c0/y-d(_go_.o):\t   e2351         64 R type:*net/http.Header",
    "/c/c0/y-d(_go_.o):\t   e2351         24 R gclocals·abc",
]


def test_nm_lines_give_data_sizes_without_versions() -> None:
    found = ObjectSymbols()
    found.add_lines(NM)
    assert found.sizes == {
        'go:string." %v=%v,"': (7, "r"),
        "net/http..stmp_10": (16, "r"),
        "net/http..stmp_0": (432, "d"),
        "type:*net/http.Header": (64, "r"),
        "gclocals·abc": (24, "r"),
    }


def test_a_named_type_goes_to_its_package_an_unnamed_one_to_none() -> None:
    assert declared_package("type:*net/http.Header") == "net/http"
    assert declared_package("type:noalg.*sync/atomic.Pointer[net/http.Handler]") == "sync/atomic"
    assert declared_package("type:crypto/internal/fips140/v1%2e0%2e0.T") == (
        "crypto/internal/fips140/v1.0.0"
    )
    for unnamed in ("type:[]uint8", "type:map[string]int", "type:func(string) error",
                    "type:struct { A int }", "type:noalg.map.group[string]int",
                    "type:.namedata.*main.T-", "type:go.shape.int", "go:string.\"a\""):  # fmt: skip
        assert declared_package(unnamed) is None, unnamed


def _whole(rodata_unowned: int) -> Attribution:
    share = PackageShare(
        package="main", module="m", file_bytes=100, code_bytes=100, pclntab_bytes=0,
        rodata_bytes=0, data_bytes=0, bss_bytes=0,
    )  # fmt: skip
    name = "read-only data without a symbol"
    bucket = Bucket(name=name, file_bytes=rodata_unowned, what=BUCKETS[name])
    return Attribution(
        file_bytes=100 + rodata_unowned,
        file_bytes_attributed_to_packages=100,
        by_package=(share,),
        buckets=(bucket,),
    )


def test_strings_go_to_the_first_referrer_and_the_sum_stays_exact() -> None:
    reach = parse(["_ -> main.main", 'main.main -> go:string."hi"', "main.main -> net/http.F",
                   "net/http.F -> net/http..stmp_10", "_ -> go:string.\"root\""])  # fmt: skip
    objects = ObjectSymbols()
    objects.add_lines([*NM, '/c/x-d:\t 1 2 R go:string."hi"', '/c/x-d:\t 1 4 R go:string."root"'])
    whole, why = with_linker_owners(
        _whole(30), reach, objects, {}, modules=("m",), main_module="m", versions={}
    )
    assert why == "" and whole is not None and whole.method == "linker"
    owned = {p.package: p.rodata_bytes for p in whole.by_package}
    assert owned == {"main": 2, "net/http": 16}  # the string by referrer, the static by name
    assert whole.first_referrer_bytes == 2
    buckets = {b.name: b.file_bytes for b in whole.buckets}
    assert buckets == {"read-only data without a symbol": 30 - 22, "generated": 4}
    assert whole.file_bytes_attributed_to_packages + sum(buckets.values()) == whole.file_bytes


def test_members_beyond_the_unowned_bytes_change_nothing() -> None:
    reach = parse(["_ -> main.main", "main.main -> net/http..stmp_10"])
    objects = ObjectSymbols()
    objects.add_lines(NM)
    whole, why = with_linker_owners(
        _whole(15), reach, objects, {}, modules=("m",), main_module="m", versions={}
    )
    assert whole is None and "16 bytes, more than the 15 no symbol covers" in why


def test_a_type_descriptor_takes_its_aligned_slot() -> None:
    assert slot("type:*main.T", 56, 32) == 64  # aligned to 32, the next one too
    assert slot("type:main.T", 72, 8) == 72  # arm: maxAlign 8
    assert slot("type:main.T", 20, 32) == 32  # aligned to 16: 20 -> 32
    assert slot("type:.namedata.*main.T-", 13, 32) == 13  # bytes: aligned to 1
    assert slot('go:string."abc"', 3, 32) == 3


def test_data_and_functions_of_no_package_go_to_what_reached_them() -> None:
    reach = parse(["_ -> main.main", "main.main -> go:itab.*main.T,error",
                   "main.main -> type:.eq.main.T", "_ -> go:itab.*x.U,error"])  # fmt: skip
    whole = _whole(0)
    generated = Bucket(name="generated", file_bytes=100, what=BUCKETS["generated"])
    whole = msgspec.structs.replace(whole, buckets=(*whole.buckets, generated))
    result, why = with_linker_owners(
        whole, reach, ObjectSymbols(), {}, modules=("m",), main_module="m", versions={},
        generated={"go:itab.*main.T,error": (True, 32), "go:itab.*x.U,error": (True, 32)},
        functions={"type:.eq.main.T": (20, 10, 18)},
    )  # fmt: skip
    assert why == "" and result is not None
    (main,) = result.by_package
    assert (main.rodata_bytes, main.code_bytes, main.pclntab_bytes) == (32, 120, 10)
    assert main.padding_bytes is None  # (the file's own had none: a stripped file's)
    assert {b.name: b.file_bytes for b in result.buckets}["generated"] == 100 - 62


def test_a_static_of_two_sizes_is_left_in_the_bucket() -> None:
    """Two packages' statics can share a name (inlined: internal/abi..stmp_0 in runtime's
    archive too); of two sizes, which one the binary holds is not known."""
    objects = ObjectSymbols()
    objects.add_lines([*NM, "/c/z-d:\t   1 24 r net/http..stmp_10<2>"])
    assert objects.ambiguous == {"net/http..stmp_10"}
    reach = parse(["_ -> main.main", "main.main -> net/http..stmp_10"])
    assert hidden_members(reach, objects, {}) == {}
