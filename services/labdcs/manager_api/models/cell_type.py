from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define

from ..models.technology import Technology
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.cell_type_extra import CellTypeExtra
    from ..models.limits import Limits


T = TypeVar("T", bound="CellType")


@_attrs_define
class CellType:
    """
    Attributes:
        id (str):
        limits (Limits): Operating limits; None: no limit from this side.
        manufacturer (str):
        model (str):
        nominal_capacity_ah (float):
        nominal_voltage_v (float):
        technology (Technology):
        chemistry (str | Unset): e.g. NMC/graphite, LFP, AGM Default: ''.
        created (int | Unset):
        extra (CellTypeExtra | Unset): Technology-specific fields
        form_factor (str | Unset): cylindrical 18650, pouch, prismatic, ... Default: ''.
        schema_version (int | Unset):  Default: 2.
    """

    id: str
    limits: Limits
    manufacturer: str
    model: str
    nominal_capacity_ah: float
    nominal_voltage_v: float
    technology: Technology
    chemistry: str | Unset = ""
    created: int | Unset = UNSET
    extra: CellTypeExtra | Unset = UNSET
    form_factor: str | Unset = ""
    schema_version: int | Unset = 2

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        limits = self.limits.to_dict()

        manufacturer = self.manufacturer

        model = self.model

        nominal_capacity_ah = self.nominal_capacity_ah

        nominal_voltage_v = self.nominal_voltage_v

        technology = self.technology.value

        chemistry = self.chemistry

        created = self.created

        extra: dict[str, Any] | Unset = UNSET
        if not isinstance(self.extra, Unset):
            extra = self.extra.to_dict()

        form_factor = self.form_factor

        schema_version = self.schema_version

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "id": id,
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
        if created is not UNSET:
            field_dict["created"] = created
        if extra is not UNSET:
            field_dict["extra"] = extra
        if form_factor is not UNSET:
            field_dict["form_factor"] = form_factor
        if schema_version is not UNSET:
            field_dict["schema_version"] = schema_version

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.cell_type_extra import CellTypeExtra
        from ..models.limits import Limits

        d = dict(src_dict)
        id = d.pop("id")

        limits = Limits.from_dict(d.pop("limits"))

        manufacturer = d.pop("manufacturer")

        model = d.pop("model")

        nominal_capacity_ah = d.pop("nominal_capacity_ah")

        nominal_voltage_v = d.pop("nominal_voltage_v")

        technology = Technology(d.pop("technology"))

        chemistry = d.pop("chemistry", UNSET)

        created = d.pop("created", UNSET)

        _extra = d.pop("extra", UNSET)
        extra: CellTypeExtra | Unset
        if isinstance(_extra, Unset):
            extra = UNSET
        else:
            extra = CellTypeExtra.from_dict(_extra)

        form_factor = d.pop("form_factor", UNSET)

        schema_version = d.pop("schema_version", UNSET)

        cell_type = cls(
            id=id,
            limits=limits,
            manufacturer=manufacturer,
            model=model,
            nominal_capacity_ah=nominal_capacity_ah,
            nominal_voltage_v=nominal_voltage_v,
            technology=technology,
            chemistry=chemistry,
            created=created,
            extra=extra,
            form_factor=form_factor,
            schema_version=schema_version,
        )

        return cell_type
