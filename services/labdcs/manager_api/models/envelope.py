from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="Envelope")


@_attrs_define
class Envelope:
    """One quantity over a window: ``t`` (ms), and ``min``/``max`` per bucket (equal when raw).

    Attributes:
        bucket_ms (int): 0: every sample (full resolution); else the bucket length
        field (str):
        max_ (list[float | None]):
        min_ (list[float | None]):
        t (list[int]):
    """

    bucket_ms: int
    field: str
    max_: list[float | None]
    min_: list[float | None]
    t: list[int]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        bucket_ms = self.bucket_ms

        field = self.field

        max_ = []
        for max_item_data in self.max_:
            max_item: float | None
            max_item = max_item_data
            max_.append(max_item)

        min_ = []
        for min_item_data in self.min_:
            min_item: float | None
            min_item = min_item_data
            min_.append(min_item)

        t = self.t

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "bucket_ms": bucket_ms,
                "field": field,
                "max": max_,
                "min": min_,
                "t": t,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        bucket_ms = d.pop("bucket_ms")

        field = d.pop("field")

        max_ = []
        _max_ = d.pop("max")
        for max_item_data in _max_:

            def _parse_max_item(data: object) -> float | None:
                if data is None:
                    return data
                return cast(float | None, data)

            max_item = _parse_max_item(max_item_data)

            max_.append(max_item)

        min_ = []
        _min_ = d.pop("min")
        for min_item_data in _min_:

            def _parse_min_item(data: object) -> float | None:
                if data is None:
                    return data
                return cast(float | None, data)

            min_item = _parse_min_item(min_item_data)

            min_.append(min_item)

        t = cast(list[int], d.pop("t"))

        envelope = cls(
            bucket_ms=bucket_ms,
            field=field,
            max_=max_,
            min_=min_,
            t=t,
        )

        envelope.additional_properties = d
        return envelope

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
