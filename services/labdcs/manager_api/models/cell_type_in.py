from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define

from ..models.technology import Technology
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.cell_type_in_extra import CellTypeInExtra
    from ..models.limits import Limits


T = TypeVar("T", bound="CellTypeIn")


@_attrs_define
class CellTypeIn:
    """A datasheet: what every cell of this type is.

    Attributes:
        limits (Limits): Operating limits; None: no limit from this side.
        manufacturer (str):
        model (str):
        nominal_capacity_ah (float):
        nominal_voltage_v (float):
        technology (Technology):
        chemistry (str | Unset): e.g. NMC/graphite, LFP, AGM Default: ''.
        extra (CellTypeInExtra | Unset): Technology-specific fields
        form_factor (str | Unset): cylindrical 18650, pouch, prismatic, ... Default: ''.
    """

    limits: Limits
    manufacturer: str
    model: str
    nominal_capacity_ah: float
    nominal_voltage_v: float
    technology: Technology
    chemistry: str | Unset = ""
    extra: CellTypeInExtra | Unset = UNSET
    form_factor: str | Unset = ""

    def to_dict(self) -> dict[str, Any]:
        limits = self.limits.to_dict()

        manufacturer = self.manufacturer

        model = self.model

        nominal_capacity_ah = self.nominal_capacity_ah

        nominal_voltage_v = self.nominal_voltage_v

        technology = self.technology.value

        chemistry = self.chemistry

        extra: dict[str, Any] | Unset = UNSET
        if not isinstance(self.extra, Unset):
            extra = self.extra.to_dict()

        form_factor = self.form_factor

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "limits": limits,
                "manufacturer": manufacturer,
                "model": model,
                "nominal_capacity_ah": nominal_capacity_ah,
                "nominal_voltage_v": nominal_voltage_v,
                "technology": technology,
            }
        )
        if chemistry is not UNSET:
            field_dict["chemistry"] = chemistry
        if extra is not UNSET:
            field_dict["extra"] = extra
        if form_factor is not UNSET:
            field_dict["form_factor"] = form_factor

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.cell_type_in_extra import CellTypeInExtra
        from ..models.limits import Limits

        d = dict(src_dict)
        limits = Limits.from_dict(d.pop("limits"))

        manufacturer = d.pop("manufacturer")

        model = d.pop("model")

        nominal_capacity_ah = d.pop("nominal_capacity_ah")

        nominal_voltage_v = d.pop("nominal_voltage_v")

        technology = Technology(d.pop("technology"))

        chemistry = d.pop("chemistry", UNSET)

        _extra = d.pop("extra", UNSET)
        extra: CellTypeInExtra | Unset
        if isinstance(_extra, Unset):
            extra = UNSET
        else:
            extra = CellTypeInExtra.from_dict(_extra)

        form_factor = d.pop("form_factor", UNSET)

        cell_type_in = cls(
            limits=limits,
            manufacturer=manufacturer,
            model=model,
            nominal_capacity_ah=nominal_capacity_ah,
            nominal_voltage_v=nominal_voltage_v,
            technology=technology,
            chemistry=chemistry,
            extra=extra,
            form_factor=form_factor,
        )

        return cell_type_in
