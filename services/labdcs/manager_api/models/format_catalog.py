from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.format_catalog_formats import FormatCatalogFormats
    from ..models.format_catalog_technologies import FormatCatalogTechnologies


T = TypeVar("T", bound="FormatCatalog")


@_attrs_define
class FormatCatalog:
    """What the import and the forms offer: file formats, technologies, sort keys, statuses.

    Attributes:
        formats (FormatCatalogFormats):
        sortable (list[str]):
        statuses (list[str]):
        technologies (FormatCatalogTechnologies):
    """

    formats: FormatCatalogFormats
    sortable: list[str]
    statuses: list[str]
    technologies: FormatCatalogTechnologies
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        formats = self.formats.to_dict()

        sortable = self.sortable

        statuses = self.statuses

        technologies = self.technologies.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "formats": formats,
                "sortable": sortable,
                "statuses": statuses,
                "technologies": technologies,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.format_catalog_formats import FormatCatalogFormats
        from ..models.format_catalog_technologies import FormatCatalogTechnologies

        d = dict(src_dict)
        formats = FormatCatalogFormats.from_dict(d.pop("formats"))

        sortable = cast(list[str], d.pop("sortable"))

        statuses = cast(list[str], d.pop("statuses"))

        technologies = FormatCatalogTechnologies.from_dict(d.pop("technologies"))

        format_catalog = cls(
            formats=formats,
            sortable=sortable,
            statuses=statuses,
            technologies=technologies,
        )

        format_catalog.additional_properties = d
        return format_catalog

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
